//! Keyframe policy: a participant who joins mid-stream cannot decode delta frames, so the core asks
//! the publisher for a keyframe at once; a crowd joining together must not turn into a keyframe
//! storm (each keyframe costs several normal frames of bandwidth on every downlink).

mod common;

use std::time::Duration;

use common::{Net, Publish};
use sfu::core::keyframe::KEYFRAME_REQUEST_INTERVAL;
use sfu::TrackKind;

/// A publisher alone in the room for a while: one keyframe, then only delta frames.
fn lone_publisher(net: &mut Net) -> usize {
    let publisher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_secs(2));
    let p = net.client(publisher);
    assert_eq!(p.keyframes_sent, 1, "nobody asked for a keyframe yet");
    assert!(p.video_frames_sent >= 49);
    assert_eq!(p.video_keyframe_requests(), 0);
    publisher
}

#[test]
fn a_late_joiner_makes_the_publisher_send_a_keyframe_promptly() {
    let mut net = Net::new();
    let publisher = lone_publisher(&mut net);

    let joiner = net.join(1);
    let asked = net.run_until(Duration::from_secs(2), |net| {
        net.client(publisher).video_keyframe_requests() > 0
    });
    let asked = asked.expect("the publisher is asked for a keyframe");
    // Zero-latency network: the request goes out as soon as the joiner's m-line is negotiated,
    // long before the throttle interval could matter.
    assert!(asked <= Duration::from_millis(100), "asked after {asked:?}");

    net.progress(Duration::from_secs(1));
    let p = net.client(publisher);
    assert!(p.keyframes_sent >= 2, "the publisher answered the request");
    let got = net.client(joiner).received_from(p.id, TrackKind::Video);
    assert!(got.keyframes >= 1, "the joiner can decode: {got:?}");
    assert!(got.frames >= 20, "{got:?}");
    // Audio needs no keyframe and is never asked for one.
    assert_eq!(
        p.keyframe_requests.get(&p.audio_mid),
        None,
        "{:?}",
        p.keyframe_requests
    );
}

/// Over a network with a real delay the joiner's ICE and DTLS take several round trips; the
/// keyframe asked for when its m-line was negotiated must not be lost meanwhile, nor must the
/// joiner then wait out the throttle interval for another one.
#[test]
fn over_a_slow_network_the_joiner_decodes_soon_after_connecting() {
    const LATENCY: Duration = Duration::from_millis(50);
    let mut net = Net::new();
    net.latency = LATENCY;
    let publisher = lone_publisher(&mut net);
    let p = net.client(publisher).id;

    let joiner = net.join_as(1, Publish::NOTHING);
    let connected = net.run_until(Duration::from_secs(5), |net| net.client(joiner).connected);
    let connected = connected.expect("the joiner connects");
    let decodable = net.run_until(Duration::from_secs(2), |net| {
        net.client(joiner)
            .received_from(p, TrackKind::Video)
            .keyframes
            > 0
    });
    let decodable = decodable.expect("the joiner gets a keyframe");
    // A round trip to the publisher and back, plus a frame interval: far below the 500 ms a
    // request merged into the throttle would wait.
    let bound = LATENCY * 4 + Duration::from_millis(40);
    assert!(
        decodable <= bound,
        "connected after {connected:?}, keyframe {decodable:?} later (bound {bound:?})"
    );
}

#[test]
fn many_joiners_at_once_are_merged_into_few_requests() {
    let mut net = Net::new();
    let publisher = lone_publisher(&mut net);
    let before = net.core.counters().clone();
    let requests_before = net.client(publisher).video_keyframe_requests();

    // Thirty students arrive at the same instant, each asking (on answer and on connect). They
    // only watch, so every keyframe request counted is for the teacher's camera.
    let joiners: Vec<usize> = (0..30).map(|_| net.join_as(1, Publish::NOTHING)).collect();
    net.connect_all();
    net.progress(Duration::from_secs(2));

    let after = net.core.counters();
    let sent = after.keyframe_requests_sent - before.keyframe_requests_sent;
    let merged = after.keyframe_requests_merged - before.keyframe_requests_merged;
    // One at once, one merged request when the interval has passed.
    assert!((1..=2).contains(&sent), "sent {sent}, merged {merged}");
    assert!(merged >= 29, "merged {merged}");
    let p = net.client(publisher);
    let received = p.video_keyframe_requests() - requests_before;
    assert!(
        (1..=2).contains(&received),
        "publisher got {received} requests"
    );

    for &j in &joiners {
        let got = net.client(j).received_from(p.id, TrackKind::Video);
        assert!(
            got.keyframes >= 1,
            "{} cannot decode: {got:?}",
            net.client(j).id
        );
    }
}

#[test]
fn joiners_trickling_in_get_at_most_one_request_per_interval() {
    let mut net = Net::new();
    let publisher = lone_publisher(&mut net);
    let before = net.core.counters().keyframe_requests_sent;

    // One joiner every 100 ms for 3 s: without throttling that is 30 keyframes in 3 s.
    let window = Duration::from_secs(3);
    let mut joiners = Vec::new();
    for _ in 0..30 {
        joiners.push(net.join_as(1, Publish::NOTHING));
        net.progress(Duration::from_millis(100));
    }
    // Let the last deferred request go out and its keyframe arrive.
    net.progress(KEYFRAME_REQUEST_INTERVAL + Duration::from_millis(200));

    let sent = net.core.counters().keyframe_requests_sent - before;
    let slots = (window.as_millis() / KEYFRAME_REQUEST_INTERVAL.as_millis()) as u64 + 2;
    assert!(
        sent <= slots,
        "sent {sent} requests in {window:?}, throttle allows {slots}"
    );
    assert!(sent >= 2, "the trickle kept asking: {sent}");
    let p = net.client(publisher);
    for &j in &joiners {
        let got = net.client(j).received_from(p.id, TrackKind::Video);
        assert!(
            got.keyframes >= 1,
            "{} cannot decode: {got:?}",
            net.client(j).id
        );
    }
}
