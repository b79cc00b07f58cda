//! The network self-test's probes (`check`, `docs/PROTOCOL.md`): they need no class, so their
//! bounds are what keeps anyone from holding media sessions on the node. Too many from one
//! network, from the node, or on one connection are refused with `too_many_checks`; a probe that
//! never connects is freed at its deadline (`timed_out`), one whose socket closes is freed at
//! once, and one that connects (a real str0m peer over UDP: ICE, DTLS) is reported `connected`
//! and freed. Every time, `/metrics` comes back to nothing held.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::metrics::{self, nothing};
use common::{start, test_config, Client, Next, WAIT};
use futures_util::StreamExt;
use serde_json::{json, Value};
use signaling::Config;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn config(per_address: usize, node: usize, per_connection: u32, secs: u64) -> Config {
    let mut config = test_config();
    config.check.probes_per_address = per_address;
    config.check.max_probes = node;
    config.check.probes_per_connection = per_connection;
    config.check.probe_secs = secs;
    config
}

/// Sends `check` for UDP and returns the `check_ready`.
async fn ready(client: &mut Client) -> Value {
    client
        .send(json!({"type": "check", "transport": "udp"}))
        .await;
    let ready = client.message().await;
    assert_eq!(ready["type"], "check_ready", "probe granted: {ready}");
    ready
}

/// A receive-only offer from a str0m `Rtc` with a host candidate on `socket`.
fn receive_only_offer(socket: &UdpSocket) -> (Rtc, str0m::change::SdpPendingOffer, String) {
    let mut rtc = Rtc::builder().build(Instant::now());
    let local = socket.local_addr().expect("local addr");
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, pending) = change.apply().expect("offer");
    (rtc, pending, offer.to_sdp_string())
}

/// Reads `/metrics` until `done` says yes (fails after [`WAIT`]). A shard publishes its gauges
/// from its loop, which an idle shard (a probe nobody talks to) does not run: a stray datagram to
/// each shard, dropped and counted as from an unknown source, wakes it.
async fn gauges_when(
    server: &signaling::Server,
    socket: &UdpSocket,
    done: impl Fn(&std::collections::BTreeMap<String, f64>) -> bool,
) -> std::collections::BTreeMap<String, f64> {
    let deadline = Instant::now() + WAIT;
    loop {
        for shard in server.media_addrs() {
            let _ = socket.send_to(b"wake up", shard).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let held = metrics::totals(server).await;
        if done(&held) {
            return held;
        }
        assert!(
            Instant::now() < deadline,
            "gauges never got there: {held:?}"
        );
    }
}

async fn assert_nothing_held(server: &signaling::Server, what: &str) {
    if let Err(now) = metrics::wait_for(server, &nothing(), WAIT).await {
        panic!("{what}: the node still holds {now:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_over_their_bounds_are_refused_with_a_clear_error() {
    let server = start(config(2, 3, 2, 30)).await;
    let mut school = Client::connect_bound(&server, ip(10)).await;
    ready(&mut school).await;
    ready(&mut school).await;
    // The same network on another connection: still the same network.
    let mut school_again = Client::connect_bound(&server, ip(10)).await;
    school_again
        .send(json!({"type": "check", "transport": "udp"}))
        .await;
    let refused = school_again.expect_error("too_many_checks").await;
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("your network")),
        "says which bound: {refused}"
    );

    let mut home = Client::connect_bound(&server, ip(11)).await;
    ready(&mut home).await;
    let mut third = Client::connect_bound(&server, ip(12)).await;
    third
        .send(json!({"type": "check", "transport": "udp"}))
        .await;
    let refused = third.expect_error("too_many_checks").await;
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("this server")),
        "the node's total holds: {refused}"
    );

    // An offer for a probe the connection does not hold.
    third
        .refused(
            json!({"type": "check_offer", "probe": 1, "sdp": "v=0"}),
            "no_such_check",
        )
        .await;

    let totals = metrics::totals(&server).await;
    assert_eq!(totals.get("classroom_check_probes"), Some(&3.0));
    assert_eq!(
        totals.get("classroom_check_probes_refused_total"),
        Some(&2.0)
    );

    // Closing the sockets gives every place back.
    drop((school, school_again, home));
    assert_nothing_held(&server, "after the checking sockets closed").await;

    // One connection may ask for `probes_per_connection` in all, then must reconnect.
    let mut busy = Client::connect_bound(&server, ip(13)).await;
    for _ in 0..2 {
        ready(&mut busy).await;
    }
    busy.send(json!({"type": "check", "transport": "udp"}))
        .await;
    let refused = busy.expect_error("too_many_checks").await;
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("one connection")),
        "says which bound: {refused}"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_never_connects_is_freed_at_its_deadline() {
    let mut config = config(4, 10, 4, 2);
    // Shorter than the probe: a checking connection is kept open for its probe, not closed at
    // the join deadline.
    config.limits.join_deadline_secs = 1;
    let server = start(config).await;
    let mut client = Client::connect(&server).await;
    let probe = ready(&mut client).await["probe"].clone();
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let (_rtc, _pending, sdp) = receive_only_offer(&socket);
    client
        .send(json!({"type": "check_offer", "probe": probe, "sdp": sdp}))
        .await;
    let answer = client.expect_type("check_answer").await;
    assert!(answer["sdp"]
        .as_str()
        .is_some_and(|s| s.contains("a=candidate")));
    let held = gauges_when(&server, &socket, |held| {
        held.get("classroom_shard_media_sessions") == Some(&1.0)
    })
    .await;
    assert_eq!(
        held.get("classroom_check_probes"),
        Some(&1.0),
        "the probe holds one media session: {held:?}"
    );

    // Nothing ever answers the server's ICE checks: the probe ends at its deadline.
    let result = client.expect_type("check_result").await;
    assert_eq!(result["probe"], probe);
    assert_eq!(result["outcome"], "timed_out", "{result}");
    gauges_when(&server, &socket, |held| {
        held.get("classroom_shard_media_sessions") == Some(&0.0)
    })
    .await;
    assert_nothing_held(&server, "after the deadline").await;
    let totals = metrics::totals(&server).await;
    assert_eq!(
        totals.get("classroom_check_probes_total"),
        Some(&1.0),
        "one probe, counted by its outcome"
    );
    // With no probe left and no class joined, the join deadline closes the socket.
    client.expect_close(4010).await;

    // A probe whose page goes away is freed at once, not at its deadline.
    let mut gone = Client::connect(&server).await;
    let probe = ready(&mut gone).await["probe"].clone();
    let (_rtc, _pending, sdp) = receive_only_offer(&socket);
    gone.send(json!({"type": "check_offer", "probe": probe, "sdp": sdp}))
        .await;
    gone.expect_type("check_answer").await;
    gauges_when(&server, &socket, |held| {
        held.get("classroom_shard_media_sessions") == Some(&1.0)
    })
    .await;
    drop(gone);
    gauges_when(&server, &socket, |held| {
        held.get("classroom_shard_media_sessions") == Some(&0.0)
    })
    .await;
    assert_nothing_held(&server, "after the page closed").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_that_connects_over_udp_is_reported_and_freed() {
    let server = start(config(4, 10, 4, 15)).await;
    let mut client = Client::connect(&server).await;
    let probe = ready(&mut client).await["probe"].clone();
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp");
    let local = socket.local_addr().expect("local");
    let (mut rtc, pending, sdp) = receive_only_offer(&socket);
    client
        .send(json!({"type": "check_offer", "probe": probe, "sdp": sdp}))
        .await;
    let answer = client.expect_type("check_answer").await;
    let answer = SdpAnswer::from_sdp_string(answer["sdp"].as_str().expect("sdp")).expect("answer");
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("accepted");

    let deadline = Instant::now() + WAIT;
    let mut connected = false;
    let result = loop {
        assert!(Instant::now() < deadline, "no check_result within {WAIT:?}");
        let wake = drive(&mut rtc, &socket, &mut connected).await;
        let mut buf = vec![0u8; 2048];
        tokio::select! {
            frame = client.ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("json");
                    if value["type"] == "check_result" {
                        break value;
                    }
                }
                other => panic!("signalling ended: {other:?}"),
            },
            received = socket.recv_from(&mut buf) => {
                let (n, from) = received.expect("recv");
                let receive = Receive::new(Protocol::Udp, from, local, &buf[..n]).expect("datagram");
                rtc.handle_input(Input::Receive(Instant::now(), receive)).expect("input");
            }
            () = tokio::time::sleep_until(wake.into()) => {
                rtc.handle_input(Input::Timeout(Instant::now())).expect("timeout");
            }
        }
    };
    assert_eq!(result["outcome"], "connected", "{result}");
    assert_eq!(result["transport"], "udp");
    // The server says `connected` once its own DTLS is up, and frees the probe at once: the
    // peer may not see its last handshake flight answered, so its own state proves nothing here.
    let _ = connected;
    assert_nothing_held(&server, "after the probe connected").await;
    let totals = metrics::totals(&server).await;
    assert_eq!(totals.get("classroom_check_probes_total"), Some(&1.0));
    client.send(json!({"type": "ping"})).await;
    assert!(matches!(client.next().await, Next::Message(m) if m["type"] == "pong"));
    server.shutdown().await.expect("shutdown");
}

/// Sends what the `Rtc` wants sent; returns when it next wants a timeout.
async fn drive(rtc: &mut Rtc, socket: &UdpSocket, connected: &mut bool) -> Instant {
    loop {
        match rtc.poll_output().expect("poll") {
            Output::Transmit(t) => {
                let _ = socket.send_to(&t.contents, t.destination).await;
            }
            Output::Event(Event::Connected) => *connected = true,
            Output::Event(_) => {}
            Output::Timeout(at) => {
                return at.min(Instant::now() + Duration::from_millis(50));
            }
        }
    }
}
