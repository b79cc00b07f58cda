//! Leak checks: whatever way a participant goes (a `Leave` at any point of its negotiation, or
//! vanishing without a word), every room, track, subscription and routing entry it held is freed,
//! and the participants who stay keep working.

mod common;

use std::time::{Duration, Instant};

use common::{Net, Publish};
use sfu::core::{Gauges, ShardCore};
use sfu::{MediaEvent, TrackKind};

const CYCLES: usize = 1000;
/// One run of churners in this many publishes audio and video (the steady one subscribes to it);
/// the others only watch (camera and microphone off), which is the other path through the core.
const PUBLISHER_EVERY: usize = 2;
/// m-lines the steady one's session may have after the churn: its own two, the two it last
/// received a churner on, and the two of a churner that left mid-negotiation. Without reuse of
/// released m-lines, 1000 cycles grow its offers to 2000 m-lines and 3.6 MB (and take minutes).
const MAX_STEADY_MLINES: usize = 6;

/// What the core holds: its gauges without the spread of downlink estimates, which says how
/// fast links are, not what is held (the steady participant's moves on its own).
fn held(core: &ShardCore) -> Gauges {
    Gauges {
        downlinks: Default::default(),
        ..core.gauges()
    }
}

/// A teacher publishing audio and video, alone and connected. Returns it and the core's gauges.
fn steady_room() -> (Net, usize, Gauges) {
    let mut net = Net::new();
    let steady = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(200));
    let baseline = held(&net.core);
    let expected = Gauges {
        rooms: 1,
        participants: 1,
        published_tracks: 2,
        subscriptions: 0,
        demux_ufrags: 1,
        demux_addrs: 1,
        ..Gauges::default()
    };
    assert_eq!(baseline, expected);
    (net, steady, baseline)
}

/// A newcomer still gets the steady participant's media, and the steady one gets the newcomer's.
fn assert_still_works(net: &mut Net, steady: usize) {
    let fresh = net.join(1);
    net.connect_all();
    net.progress(Duration::from_secs(1));
    let (s, f) = (net.client(steady), net.client(fresh));
    for kind in [TrackKind::Audio, TrackKind::Video] {
        let got = f.received_from(s.id, kind);
        assert!(
            got.frames >= 20,
            "newcomer got {got:?} {kind:?} from the steady one"
        );
        let got = s.received_from(f.id, kind);
        assert!(
            got.frames >= 20,
            "steady one got {got:?} {kind:?} from the newcomer"
        );
    }
    assert!(f.received_from(s.id, TrackKind::Video).keyframes >= 1);
    net.leave(fresh);
}

#[test]
fn a_thousand_join_leave_cycles_leave_nothing_behind() {
    let (mut net, steady, baseline) = steady_room();
    // Ticks of 20 ms are plenty here: the network has no latency, and connecting happens within
    // the join's own flush. Churners publish (so the steady one subscribes) but send no frames.
    net.step = Duration::from_millis(20);
    let wall = Instant::now();
    let mut connected = 0;
    for cycle in 0..CYCLES {
        // Publishers come in runs of four, so that each of them leaves at each moment below.
        let publish = if (cycle / 4) % PUBLISHER_EVERY == 0 {
            Publish::BOTH
        } else {
            Publish::NOTHING
        };
        // Vary the moment of leaving so every negotiation state is left from at least once.
        match cycle % 4 {
            // Leave in the same breath as the Join: no answer, no ICE, nothing connected.
            0 => {
                let churner = net.join_queued(1, publish);
                net.leave(churner);
            }
            // The steady one has the offer for the churner's tracks in hand, not answered yet:
            // those subscriptions are orphaned mid-negotiation, then stopped by the next offer.
            1 if publish == Publish::BOTH => {
                net.client_mut(steady).hold_offers = true;
                let churner = net.join_as(1, publish);
                net.client_mut(churner).publishing = false;
                assert!(!net.client(steady).held_offers.is_empty(), "cycle {cycle}");
                net.leave(churner);
                net.release_offers(steady);
            }
            // The churner's own offer (for the steady one's tracks) is outstanding when it goes.
            2 => {
                let churner = net.join_queued(1, publish);
                net.client_mut(churner).hold_offers = true;
                net.client_mut(churner).publishing = false;
                net.flush();
                assert!(!net.client(churner).held_offers.is_empty(), "cycle {cycle}");
                net.tick();
                net.leave(churner);
            }
            // Fully up: connected, both sides negotiated, a little time passed.
            _ => {
                let churner = net.join_as(1, publish);
                net.client_mut(churner).publishing = false;
                net.tick();
                let c = net.client(churner);
                assert!(
                    c.connected && c.saw(&MediaEvent::Connected),
                    "cycle {cycle}"
                );
                connected += 1;
                net.leave(churner);
            }
        }
        net.tick();
    }
    let settled = net.run_until(Duration::from_secs(5), |net| held(&net.core) == baseline);
    let elapsed = wall.elapsed();
    eprintln!("{CYCLES} cycles ({connected} fully connected) in {elapsed:?} of wall time");
    assert!(
        settled.is_some(),
        "after churn: {:?}, baseline {baseline:?}",
        held(&net.core)
    );
    // Nothing the core said about a departed churner reached the wrong client.
    assert!(net
        .orphan_events
        .iter()
        .all(|(_, e)| !matches!(e, MediaEvent::Gone | MediaEvent::Rejected(_))));
    let s = net.client(steady);
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, MediaEvent::Rejected(_))));
    let last_offer = s.events.iter().rev().find_map(|e| match e {
        MediaEvent::Offer { sdp } => Some(sdp),
        _ => None,
    });
    let mlines = last_offer
        .expect("the steady one got offers")
        .matches("\nm=")
        .count();
    assert!(
        mlines <= MAX_STEADY_MLINES,
        "the steady one's session has {mlines} m-lines"
    );
    assert_still_works(&mut net, steady);
}

#[test]
fn a_participant_that_vanishes_is_freed_after_the_consent_timeout() {
    let (mut net, steady, baseline) = steady_room();
    let ghost = net.join(1);
    net.connect_all();
    net.progress(Duration::from_secs(1));
    let ghost_id = net.client(ghost).id;
    assert_eq!(held(&net.core).participants, 2);

    // Lid closed: not a single datagram from it any more, and none reaches it.
    net.vanish(ghost);
    net.step = Duration::from_millis(20);
    let gone = net.run_until(Duration::from_secs(60), |net| {
        net.client(ghost).saw(&MediaEvent::Gone)
    });
    let gone = gone.expect("a vanished participant is declared gone within 60 s");
    eprintln!("vanished participant declared gone after {gone:?} of simulated time");
    // str0m's ICE-lite agent drops a pair 15 s after its last binding request; not much sooner.
    assert!(gone >= Duration::from_secs(5), "gone after only {gone:?}");

    // Its tracks are stopped in the steady one's session too (one more offer/answer).
    let settled = net.run_until(Duration::from_secs(2), |net| held(&net.core) == baseline);
    assert!(settled.is_some(), "{:?} vs {baseline:?}", held(&net.core));
    let s = net.client(steady);
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, MediaEvent::TrackRemoved { .. })));
    // Gone exactly once, and a Leave afterwards (the control plane tidying up) is harmless.
    let ghost_client = net.client(ghost);
    assert_eq!(
        ghost_client
            .events
            .iter()
            .filter(|e| **e == MediaEvent::Gone)
            .count(),
        1
    );
    assert_eq!(ghost_client.id, ghost_id);
    net.leave(ghost);
    assert_eq!(held(&net.core), baseline);
    assert_still_works(&mut net, steady);
}
