//! Through the real server: an SDP over a limit (size, tracks of a source) is refused with a clear
//! code and the session goes on; an observer cannot publish through its answer either.

mod common;

use std::time::Instant;

use common::peer::Peer;
use common::{create_class, start, test_config, Client};
use serde_json::json;
use str0m::change::SdpOffer;
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

/// A client `Rtc` and its offer of one m-line per `(kind, direction)`.
fn offer_of(lines: &[(MediaKind, Direction)]) -> (Rtc, String) {
    let mut rtc = Rtc::builder().build(Instant::now());
    let addr = "127.0.0.1:9".parse().expect("addr");
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    for (kind, direction) in lines {
        change.add_media(*kind, *direction, None, None, None);
    }
    let (offer, _pending) = change.apply().expect("offer");
    (rtc, offer.to_sdp_string())
}

#[tokio::test]
async fn a_second_camera_or_an_oversized_sdp_is_refused_and_the_session_goes_on() {
    let mut config = test_config();
    config.limits.max_sdp_bytes = 16 * 1024;
    let server = start(config).await;
    let class = create_class(&server).await;
    let (mut pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, "Pupil").await;

    let (_, two_cameras) = offer_of(&[
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ]);
    assert!(two_cameras.len() < 16 * 1024, "{}", two_cameras.len());
    pupil
        .refused(
            json!({"type": "offer", "sdp": two_cameras}),
            "too_many_tracks",
        )
        .await;

    let (_, many) = offer_of(&[(MediaKind::Video, Direction::RecvOnly); 6]);
    assert!(many.len() > 16 * 1024, "{}", many.len());
    pupil
        .refused(json!({"type": "offer", "sdp": many}), "sdp_too_large")
        .await;

    // Declaring the microphone's m-line a camera would get it past a mute: refused.
    let (_, good) = offer_of(&[
        (MediaKind::Audio, Direction::SendOnly),
        (MediaKind::Video, Direction::SendOnly),
    ]);
    let mid_of_audio = good
        .lines()
        .find_map(|l| l.strip_prefix("a=mid:"))
        .expect("a mid")
        .to_owned();
    pupil
        .refused(
            json!({"type": "offer", "sdp": good, "sources": {mid_of_audio: "camera"}}),
            "bad_message",
        )
        .await;

    // The plain offer is taken: the refusals changed nothing.
    pupil.send(json!({"type": "offer", "sdp": good})).await;
    let answer = pupil.expect_type("answer").await;
    assert!(answer["sdp"].as_str().is_some_and(|s| s.starts_with("v=0")));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_observer_cannot_publish_through_its_answer() {
    let mut config = test_config();
    config.media.shards = 1;
    let server = start(config).await;
    let class = create_class(&server).await;
    let (mut observer, _, _) =
        Client::joined(&server, &class, &class.observer_token, "Inspector Ines").await;
    let (mut rtc, offer) = offer_of(&[
        (MediaKind::Audio, Direction::Inactive),
        (MediaKind::Video, Direction::Inactive),
    ]);
    observer.send(json!({"type": "offer", "sdp": offer})).await;
    let _ = observer.expect_type("answer").await;

    // A teacher publishes: the server offers the observer the teacher's tracks.
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let (_, server_offer) = tokio::join!(
        teacher.run_for(std::time::Duration::from_millis(500)),
        observer.expect_type("offer")
    );
    let server_offer = server_offer["sdp"].as_str().expect("sdp").to_owned();
    let offer = SdpOffer::from_sdp_string(&server_offer).expect("server offer parses");
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .expect("accepted")
        .to_sdp_string();
    assert!(answer.contains("a=recvonly"), "{answer}");
    let sending = answer.replace("a=recvonly", "a=sendrecv");
    let error = {
        observer
            .send(json!({"type": "answer", "sdp": sending}))
            .await;
        observer.expect_type("error").await
    };
    assert_eq!(error["code"], "bad_sdp", "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("observer")),
        "{error}"
    );
    // The offer is still open: the honest answer is taken without a word.
    observer
        .send(json!({"type": "answer", "sdp": answer}))
        .await;
    let after = observer.drain().await;
    assert!(
        after.iter().all(|m| m["type"] != "error"),
        "the real answer was refused: {after:?}"
    );
    teacher.leave().await;
    server.shutdown().await.expect("shutdown");
}
