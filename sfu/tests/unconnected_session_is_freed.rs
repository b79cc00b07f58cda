//! A media session whose peer got its answer but never connects (no STUN check ever arrives: a
//! closed tab, a firewall that drops UDP, a client that only wanted the answer) is freed once the
//! connect timeout passes: the control plane is told `Gone`, and the shard holds nothing of it.
//! A connected session is never touched by that timeout, however long it lives.

mod common;

use std::time::Duration;

use common::{Net, Publish, SERVER};
use sfu::core::{Gauges, ShardCore};
use sfu::MediaEvent;

/// A teacher who connects, then `silent` peers who join the same room and never send a datagram.
fn room_with_silent_peers(connect_timeout: Duration, silent: usize) -> (Net, usize, Vec<usize>) {
    let mut net = Net::new();
    net.core = ShardCore::new(SERVER, net.now).with_connect_timeout(connect_timeout);
    net.step = Duration::from_millis(50);
    let teacher = net.join(1);
    net.connect_all();
    let peers: Vec<usize> = (0..silent)
        .map(|_| {
            let index = net.join_queued(1, Publish::BOTH);
            net.vanish(index);
            index
        })
        .collect();
    net.flush();
    (net, teacher, peers)
}

#[test]
fn sessions_that_never_connect_are_freed_after_the_timeout() {
    let timeout = Duration::from_secs(3);
    let (mut net, teacher, peers) = room_with_silent_peers(timeout, 20);
    assert_eq!(net.core.gauges().participants, 21);

    // Just before the bound every silent session is still given its chance.
    net.progress(timeout - Duration::from_millis(500));
    assert_eq!(net.core.gauges().participants, 21);
    assert!(peers.iter().all(|p| !net.client(*p).saw(&MediaEvent::Gone)));

    net.progress(Duration::from_secs(1));
    for peer in &peers {
        assert!(
            net.client(*peer).saw(&MediaEvent::Gone),
            "peer {peer} was told its session is gone"
        );
    }
    let gauges = net.core.gauges();
    assert_eq!(
        gauges,
        Gauges {
            rooms: 1,
            participants: 1,
            published_tracks: 2,
            subscriptions: 0,
            demux_ufrags: 1,
            demux_addrs: 1,
            // The teacher's own downlink estimate, whichever it is.
            downlinks: gauges.downlinks,
            videos_paused: [0; 2],
        },
        "only the connected teacher is left"
    );
    assert_eq!(net.core.counters().media_sessions_never_connected, 20);
    assert!(!net.client(teacher).saw(&MediaEvent::Gone));
}

#[test]
fn a_connected_session_outlives_the_connect_timeout() {
    let (mut net, teacher, _) = room_with_silent_peers(Duration::from_secs(1), 0);
    net.progress(Duration::from_secs(5));
    assert!(!net.client(teacher).saw(&MediaEvent::Gone));
    assert_eq!(net.core.gauges().participants, 1);
    assert_eq!(net.core.counters().media_sessions_never_connected, 0);
}

#[test]
fn a_lone_session_that_never_connects_frees_its_room_too() {
    let timeout = Duration::from_secs(8);
    let mut net = Net::new();
    net.core = ShardCore::new(SERVER, net.now).with_connect_timeout(timeout);
    net.step = Duration::from_millis(100);
    let silent = net.join_queued(7, Publish::BOTH);
    net.vanish(silent);
    net.flush();
    assert_eq!(net.core.gauges().rooms, 1);
    net.progress(timeout - Duration::from_secs(1));
    assert_eq!(net.core.gauges().participants, 1);
    net.progress(Duration::from_secs(2));
    assert!(net.client(silent).saw(&MediaEvent::Gone));
    assert_eq!(net.core.gauges(), Gauges::default());
    assert_eq!(net.core.counters().media_sessions_never_connected, 1);
}
