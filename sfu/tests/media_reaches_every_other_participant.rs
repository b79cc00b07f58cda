//! Forwarding: in a room of three, everyone receives everyone else's audio and video, never their own;
//! rooms stay apart; and a camera switched on or off mid-class (the web client flips its m-line
//! between `inactive` and `sendonly`) starts or ends that track for everyone else.

mod common;

use std::time::Duration;

use common::{Net, Publish};
use sfu::DropReason;
use sfu::{MediaEvent, TrackKind};

#[test]
fn three_publishers_each_receive_the_other_two() {
    let mut net = Net::new();
    let clients: Vec<usize> = (0..3).map(|_| net.join(7)).collect();
    net.connect_all();
    // Two seconds: 100 Opus frames and 50 video frames per publisher, plenty of slack for the
    // renegotiations that follow each join.
    net.progress(Duration::from_secs(2));

    for &me in &clients {
        let client = net.client(me);
        // Each subscriber gets one audio and one video m-line per other participant.
        assert_eq!(
            client.tracks.len(),
            4,
            "{}: tracks {:?}",
            client.id,
            client.tracks
        );
        assert!(
            client
                .tracks
                .values()
                .all(|(publisher, _)| *publisher != client.id),
            "{} was offered its own track",
            client.id
        );
        for &other in clients.iter().filter(|&&o| o != me) {
            let publisher = net.client(other);
            let audio = client.received_from(publisher.id, TrackKind::Audio);
            let video = client.received_from(publisher.id, TrackKind::Video);
            // Allow for the frames sent before the subscriber's m-line was negotiated.
            assert!(
                audio.frames >= 50,
                "{} got {audio:?} audio from {}",
                client.id,
                publisher.id
            );
            assert!(
                video.frames >= 25,
                "{} got {video:?} video from {}",
                client.id,
                publisher.id
            );
            // Decodable from the start: the first video frame forwarded to it was a keyframe.
            assert!(
                video.keyframes >= 1,
                "{} got no keyframe from {}",
                client.id,
                publisher.id
            );
            // The core never forwards more than was sent.
            assert!(video.frames <= publisher.video_frames_sent);
        }
        assert_eq!(
            client.unannounced_frames, 0,
            "{}: media on an unknown m-line",
            client.id
        );
        assert!(client.saw(&MediaEvent::Connected));
        assert!(!client
            .events
            .iter()
            .any(|e| matches!(e, MediaEvent::Rejected(_))));
    }

    let counters = net.core.counters();
    assert_eq!(
        counters.dropped.get(DropReason::CodecMismatch),
        0,
        "{counters:?}"
    );
    assert_eq!(
        counters.dropped.get(DropReason::WriteFailed),
        0,
        "{counters:?}"
    );
    assert_eq!(
        counters.dropped.get(DropReason::Malformed),
        0,
        "{counters:?}"
    );
    let gauges = net.core.gauges();
    assert_eq!((gauges.rooms, gauges.participants), (1, 3));
    // The core always gave a deadline in the future once it had nothing left to do.
    assert_eq!(net.stalls, 0);
    assert_eq!((gauges.published_tracks, gauges.subscriptions), (6, 12));
}

#[test]
fn rooms_do_not_leak_into_each_other() {
    let mut net = Net::new();
    let a = [net.join(1), net.join(1)];
    let b = [net.join(2), net.join(2)];
    net.connect_all();
    net.progress(Duration::from_secs(1));

    for (room, other) in [(a, b), (b, a)] {
        for &me in &room {
            let client = net.client(me);
            assert_eq!(
                client.tracks.len(),
                2,
                "{}: tracks {:?}",
                client.id,
                client.tracks
            );
            for &stranger in &other {
                let stranger = net.client(stranger).id;
                assert!(client.tracks.values().all(|(p, _)| *p != stranger));
            }
            let peer = net.client(room[usize::from(room[0] == me)]).id;
            assert!(client.received_from(peer, TrackKind::Video).frames > 0);
        }
    }
    assert_eq!(net.core.gauges().rooms, 2);
}

/// The web client offers an `inactive` video m-line when the camera is off (or missing) and turns
/// it `sendonly` with a new offer when the camera goes on: the same m-line, not a new one.
#[test]
fn a_camera_switched_on_later_reaches_the_others() {
    let mut net = Net::new();
    let student = net.join_as(1, Publish::AUDIO);
    let teacher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    let id = net.client(student).id;
    assert!(
        net.client(teacher)
            .received_from(id, TrackKind::Audio)
            .frames
            >= 20
    );

    net.set_sending(student, Publish::BOTH);
    net.progress(Duration::from_secs(1));
    let got = net.client(teacher).received_from(id, TrackKind::Video);
    assert!(
        got.frames >= 20 && got.keyframes >= 1,
        "teacher got {got:?} of the student's camera; gauges {:?}",
        net.core.gauges()
    );
}

/// Switching the camera off again (`inactive`) ends the track for the others: a `TrackRemoved`,
/// and the subscription is gone, not left pointing at a silent m-line.
#[test]
fn a_camera_switched_off_is_removed_from_the_others() {
    let mut net = Net::new();
    let student = net.join(1);
    let teacher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    let before = net.core.gauges();

    net.set_sending(student, Publish::AUDIO);
    net.progress(Duration::from_millis(500));
    let t = net.client(teacher);
    let id = net.client(student).id;
    assert!(
        t.events
            .iter()
            .any(|e| matches!(e, MediaEvent::TrackRemoved { .. })),
        "the teacher was not told the camera went off"
    );
    assert!(!t
        .tracks
        .values()
        .any(|track| *track == (id, TrackKind::Video)));
    let after = net.core.gauges();
    assert_eq!(
        after.published_tracks,
        before.published_tracks - 1,
        "{after:?}"
    );
    assert_eq!(after.subscriptions, before.subscriptions - 1, "{after:?}");
    // Audio goes on.
    let audio = t.received_from(id, TrackKind::Audio).frames;
    net.progress(Duration::from_millis(500));
    assert!(
        net.client(teacher)
            .received_from(id, TrackKind::Audio)
            .frames
            >= audio + 20
    );
}

/// Camera off and on again faster than the teacher's browser answers: the m-line being released
/// is opened again afterwards, and the student's video comes back.
#[test]
fn a_camera_toggled_during_renegotiation_comes_back() {
    let mut net = Net::new();
    let student = net.join(1);
    let teacher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    let id = net.client(student).id;

    net.client_mut(teacher).hold_offers = true;
    for publish in [Publish::AUDIO, Publish::BOTH, Publish::AUDIO, Publish::BOTH] {
        net.set_sending(student, publish);
        net.progress(Duration::from_millis(20));
    }
    net.release_offers(teacher);
    net.progress(Duration::from_millis(100));
    let before = net.client(teacher).received_from(id, TrackKind::Video);
    net.progress(Duration::from_secs(1));
    let after = net.client(teacher).received_from(id, TrackKind::Video);
    assert!(
        after.frames >= before.frames + 20,
        "{before:?} -> {after:?}"
    );
    let gauges = net.core.gauges();
    assert_eq!(
        (gauges.published_tracks, gauges.subscriptions),
        (4, 4),
        "{gauges:?}"
    );
}
