//! Every kind of bad input from a browser gets a clear `error` (and a close where going on makes
//! no sense), and nothing is lost for the session or anyone else.

mod common;

use std::time::{Duration, Instant};

use common::{Class, Client};
use serde_json::json;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;
use tokio_tungstenite::tungstenite::Message;

async fn joined(server: &signaling::Server, class: &Class) -> Client {
    let mut client = Client::connect(server).await;
    client.join(class, &class.pupil_token, "Pupil").await;
    client
}

/// A real browser-like offer (from str0m) with audio and video.
fn valid_offer() -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    change.apply().expect("offer").0.to_sdp_string()
}

async fn still_alive(client: &mut Client) {
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.expect_type("pong").await["type"], "pong");
}

#[tokio::test]
async fn malformed_json_unknown_type_and_bad_fields_keep_the_session() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut client = joined(&server, &class).await;
    client.send_text("{not json".into()).await;
    client.expect_error("bad_json").await;
    client.send_text("[1, 2, 3]".into()).await;
    client.expect_error("bad_json").await;
    client.send(json!({"type": "teleport"})).await;
    client.expect_error("unknown_type").await;
    client.send(json!({"no_type": true})).await;
    client.expect_error("unknown_type").await;
    client.send(json!({"type": "offer", "sdp": 42})).await;
    client.expect_error("bad_message").await;
    client
        .send(json!({"type": "media_state", "audio": "yes"}))
        .await;
    client.expect_error("bad_message").await;
    client.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    client.expect_error("binary_not_supported").await;
    still_alive(&mut client).await;
}

#[tokio::test]
async fn messages_before_join_are_refused_until_join() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "offer", "sdp": valid_offer()}))
        .await;
    client.expect_error("not_joined").await;
    client.send(json!({"type": "answer", "sdp": "v=0"})).await;
    client.expect_error("not_joined").await;
    client.join(&class, &class.pupil_token, "Late").await;
}

#[tokio::test]
async fn wrong_room_token_or_version_closes_with_a_reason() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;

    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "version": 1, "room": "no-such-room", "token": class.pupil_token, "name": "A"}))
        .await;
    client.expect_error("no_such_room").await;
    client.expect_close(4004).await;

    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": "forged-token", "name": "A"}))
        .await;
    client.expect_error("bad_token").await;
    client.expect_close(4001).await;

    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "version": 99, "room": class.room, "token": class.pupil_token, "name": "A"}))
        .await;
    client.expect_error("unsupported_version").await;
    client.expect_close(4000).await;
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let mut config = common::test_config();
    config.token_ttl_secs = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut client = Client::connect(&server).await;
    client
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.teacher_token, "name": "T"}))
        .await;
    client.expect_error("token_expired").await;
    client.expect_close(4001).await;
}

#[tokio::test]
async fn bad_names_and_second_joins_are_refused_without_closing() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut client = Client::connect(&server).await;
    for name in ["", "   ", "a\u{0007}b", &"x".repeat(65)] {
        client
            .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": name}))
            .await;
        client.expect_error("bad_name").await;
    }
    client.join(&class, &class.pupil_token, "Good Name").await;
    client
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "Again"}))
        .await;
    client.expect_error("already_joined").await;
    still_alive(&mut client).await;
}

#[tokio::test]
async fn unusable_sdp_is_refused_and_a_good_offer_still_works_after() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut client = joined(&server, &class).await;
    client
        .send(json!({"type": "offer", "sdp": "this is not sdp"}))
        .await;
    client.expect_error("bad_sdp").await;
    let only_unknown_codecs = valid_offer()
        .replace("opus/48000/2", "X-NOPE/48000/2")
        .replace("VP8/90000", "X-NOPE/90000")
        .replace("H264/90000", "X-NOPE/90000")
        .replace("VP9/90000", "X-NOPE/90000")
        .replace("AV1/90000", "X-NOPE/90000");
    client
        .send(json!({"type": "offer", "sdp": only_unknown_codecs}))
        .await;
    client.expect_error("no_usable_codec").await;
    client.send(json!({"type": "answer", "sdp": "v=0"})).await;
    client.expect_error("bad_sdp").await;
    client
        .send(json!({"type": "offer", "sdp": valid_offer()}))
        .await;
    let answer = client.expect_type("answer").await;
    assert!(answer["sdp"].as_str().is_some_and(|s| s.starts_with("v=0")));
    // Well-formed SDP (garbage is refused as bad_sdp before anything looks for an offer).
    client
        .send(json!({"type": "answer", "sdp": valid_offer()}))
        .await;
    client.expect_error("unexpected_answer").await;
    still_alive(&mut client).await;
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut client = joined(&server, &class).await;
    let huge = "x".repeat(100 * 1024);
    client.send(json!({"type": "offer", "sdp": huge})).await;
    client.expect_error("message_too_large").await;
    client.expect_close(1009).await;
}

#[tokio::test]
async fn a_misbehaving_client_costs_others_nothing() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut good = joined(&server, &class).await;
    let mut bad = joined(&server, &class).await;
    let joined_msg = good.expect_type("participant_joined").await;
    let bad_id = joined_msg["participant"]["id"].clone();
    for _ in 0..200 {
        bad.send_text("garbage".into()).await;
    }
    bad.send_raw(Message::Text("x".repeat(70 * 1024).into()))
        .await;
    still_alive(&mut good).await;
    let left = good.expect_type("participant_left").await;
    assert_eq!(left["id"], bad_id);
    still_alive(&mut good).await;
}

#[tokio::test]
async fn creating_a_class_needs_the_admin_key_when_one_is_set() {
    let mut config = common::test_config();
    config.admin_key = Some("a-long-enough-admin-key".into());
    let server = common::start(config).await;
    let (status, body) = common::http_post(&server, "/api/rooms", None).await;
    assert_eq!(status, 401);
    assert!(body.contains("admin key"), "{body}");
    let (status, _) = common::http_post(&server, "/api/rooms", Some("wrong-key-wrong-key")).await;
    assert_eq!(status, 401);
    let (status, body) =
        common::http_post(&server, "/api/rooms", Some("a-long-enough-admin-key")).await;
    assert_eq!(status, 201, "{body}");
}

/// `video_quality` changes only what the sender receives: a good one gets no reply and nobody
/// else hears of it; one about oneself, a stranger or an unknown quality gets a clear error.
#[tokio::test]
async fn video_quality_wishes_are_checked() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, teacher_id, _) =
        Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, pupil_id, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    teacher.drain().await;

    pupil
        .send(json!({"type": "video_quality", "participant": teacher_id, "quality": "low"}))
        .await;
    assert_eq!(pupil.drain().await, Vec::<serde_json::Value>::new());
    pupil
        .send(json!({"type": "video_quality", "participant": pupil_id, "quality": "high"}))
        .await;
    pupil.expect_error("bad_target").await;
    pupil
        .send(json!({"type": "video_quality", "participant": "p999", "quality": "high"}))
        .await;
    pupil.expect_error("no_such_participant").await;
    pupil
        .send(json!({"type": "video_quality", "participant": teacher_id, "quality": "ultra"}))
        .await;
    pupil.expect_error("bad_message").await;
    pupil
        .send(json!({"type": "video_quality", "participant": teacher_id}))
        .await;
    pupil.expect_error("bad_message").await;
    still_alive(&mut pupil).await;
    assert_eq!(teacher.drain().await, Vec::<serde_json::Value>::new());
}
