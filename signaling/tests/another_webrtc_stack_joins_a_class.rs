//! A second WebRTC stack, webrtc-rs, joins a class through the real server as an outside
//! integrator's client would, from the class links and `docs/PROTOCOL.md` alone: a publishing
//! pupil and a receive-only observer, beside a str0m teacher. Media flows every way: the str0m
//! teacher's to both webrtc-rs peers, the webrtc-rs pupil's to the teacher and to the observer.
//!
//! webrtc-rs takes a bundle's candidates only from m-sections that are not `a=inactive`. Here the
//! first m-section of both answers is not inactive (the pupil publishes on it, the observer
//! receives on it), so this test passes with str0m's own SDP too (checked: candidates in the first
//! m-section only); a peer whose first m-line is inactive (no microphone) is what needs every
//! m-section to carry them, as `sfu/src/core/sdp_candidates.rs` now writes it.

mod common;
mod webrtc_rs_peer;

use std::time::Duration;

use common::peer::Peer;
use serde_json::Value;
use webrtc_rs_peer::{Link, OtherStackPeer, Publish};

/// How long the str0m teacher is driven: connection setup plus a few seconds of media.
const RUN: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webrtc_rs_pupil_and_observer_exchange_media_with_a_str0m_teacher() {
    let server = common::start(common::test_config()).await;
    let (status, body) = common::http_post(&server, "/api/rooms", None).await;
    assert_eq!(status, 201, "{body}");
    let links: Value = serde_json::from_str(&body).expect("JSON");
    let link = |role: &str| Link::parse(links[format!("{role}_url")].as_str().expect("a link"));
    let (teacher_link, pupil_link, observer_link) =
        (link("teacher"), link("pupil"), link("observer"));
    assert_eq!(pupil_link.room, links["room"], "the link names the room");
    let class = common::Class {
        room: teacher_link.room.clone(),
        teacher_token: teacher_link.token.clone(),
        pupil_token: pupil_link.token.clone(),
        observer_token: observer_link.token.clone(),
    };

    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let pupil = OtherStackPeer::join(&pupil_link, "Ada", Publish::AudioAndVideo).await;
    let observer = OtherStackPeer::join(&observer_link, "Grace", Publish::Nothing).await;
    teacher.run_for(RUN).await;

    for (who, peer) in [("pupil", &pupil), ("observer", &observer)] {
        let seen = peer.seen.lock().expect("lock");
        assert!(seen.errors.is_empty(), "{who}: {:?}", seen.errors);
        assert!(seen.byes.is_empty(), "{who}: {:?}", seen.byes);
        assert!(
            seen.msid_mismatches.is_empty(),
            "{who}: msid carries the publisher's id: {:?}",
            seen.msid_mismatches
        );
    }
    assert!(
        observer
            .connected
            .load(std::sync::atomic::Ordering::Relaxed),
        "the receive-only webrtc-rs peer connected"
    );
    assert!(
        pupil.connected.load(std::sync::atomic::Ordering::Relaxed),
        "the publishing webrtc-rs peer connected"
    );

    // The str0m teacher's media reached both webrtc-rs peers (50 audio packets and 30 frames a
    // second were sent; a few seconds of them, less the connection setup).
    for (who, peer) in [("pupil", &pupil), ("observer", &observer)] {
        let got = peer.from(&teacher.id);
        assert!(got.audio_packets > 50, "{who} from the teacher: {got:?}");
        assert!(got.video_frames > 30, "{who} from the teacher: {got:?}");
    }
    // The webrtc-rs pupil's media reached the str0m teacher and the webrtc-rs observer.
    let got = teacher.from(&pupil.id);
    assert!(got.audio_frames > 50, "teacher from the pupil: {got:?}");
    assert!(got.video_frames > 30, "teacher from the pupil: {got:?}");
    assert!(got.video_keyframes >= 1, "teacher from the pupil: {got:?}");
    let got = observer.from(&pupil.id);
    assert!(got.audio_packets > 50, "observer from the pupil: {got:?}");
    assert!(got.video_frames > 30, "observer from the pupil: {got:?}");
    // Nobody got its own media back, and an observer publishes nothing.
    assert_eq!(pupil.from(&pupil.id), Default::default());
    assert_eq!(teacher.from(&observer.id), Default::default());

    teacher.leave().await;
    pupil.leave().await;
    observer.leave().await;
    server.shutdown().await.expect("clean shutdown");
}
