//! A participant whose WebSocket drops comes back with its resume token within the grace period:
//! role, rights, hand and mute state are kept, the chat it missed is replayed, and the others see
//! "reconnecting" then "reconnected", never a leave and a join. After the grace period it is gone.

mod common;

use std::time::Duration;

use common::Client;
use serde_json::{json, Value};

fn resume(class: &common::Class, token: &str, last_chat_seq: u64) -> Value {
    json!({"type": "resume", "version": 1, "room": class.room, "token": token, "last_chat_seq": last_chat_seq})
}

#[tokio::test]
async fn a_dropped_pupil_resumes_with_everything_and_the_missed_chat() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, pupil_id, welcome) =
        Client::joined(&server, &class, &class.pupil_token, "P").await;
    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    pupil.send(json!({"type": "raise_hand"})).await;
    pupil.expect_type("hands").await;
    teacher
        .send(json!({"type": "mute", "participant": pupil_id}))
        .await;
    pupil.expect_type("rights").await;
    teacher
        .send(json!({"type": "chat", "text": "before"}))
        .await;
    assert_eq!(pupil.expect_type("chat").await["seq"], 1);

    drop(pupil);
    let reconnecting = teacher.expect_type("reconnecting").await;
    assert_eq!(reconnecting["id"], pupil_id);
    teacher
        .send(json!({"type": "chat", "text": "while away"}))
        .await;
    teacher
        .send(json!({"type": "chat", "text": "still away"}))
        .await;
    teacher.drain().await;

    let mut back = Client::connect(&server).await;
    back.send(resume(&class, &token, 1)).await;
    let resumed = back.expect_type("resumed").await;
    assert_eq!(resumed["you"]["id"], pupil_id);
    assert_eq!(resumed["you"]["role"], "pupil");
    assert_eq!(resumed["you"]["rights"]["mic"], false, "still muted");
    assert_eq!(resumed["hands"], json!([pupil_id]), "hand still up");
    let missed: Vec<_> = resumed["chat"]
        .as_array()
        .expect("chat")
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(missed, vec!["while away", "still away"]);
    assert_eq!(resumed["media"], "restart", "it had no media session");

    let seen = teacher.drain().await;
    let kinds: Vec<_> = seen.iter().map(|m| m["type"].clone()).collect();
    assert_eq!(
        kinds,
        vec![json!("reconnected")],
        "no leave, no join: {seen:?}"
    );
    // Business as usual on the new socket.
    back.send(json!({"type": "lower_hand"})).await;
    assert_eq!(back.expect_type("hands").await["queue"], json!([]));
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn after_the_grace_period_a_dropped_pupil_has_left() {
    let mut config = common::test_config();
    config.resume_grace_secs = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (pupil, pupil_id, welcome) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    drop(pupil);
    teacher.expect_type("reconnecting").await;
    let left = teacher.expect_type("participant_left").await;
    assert_eq!(left["id"], pupil_id);
    assert_eq!(server.state.rooms.participant_count(), 1);
    let mut late = Client::connect(&server).await;
    late.refused(resume(&class, &token, 0), "bad_resume_token")
        .await;
    // It may join afresh on the same connection.
    late.join(&class, &class.pupil_token, "P").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn resuming_while_the_old_socket_lingers_replaces_it() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut old, _, welcome) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    teacher.drain().await;
    let mut new = Client::connect(&server).await;
    new.send(resume(&class, &token, 0)).await;
    new.expect_type("resumed").await;
    assert_eq!(old.expect_type("bye").await["reason"], "replaced");
    old.expect_close(1000).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = teacher.drain().await;
    assert!(
        seen.iter()
            .all(|m| m["type"] != "participant_left" && m["type"] != "reconnecting"),
        "{seen:?}"
    );
    new.send(json!({"type": "chat", "text": "hi"})).await;
    new.expect_type("chat").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_resumed_media_session_is_kept_or_restarted_on_request() {
    use std::time::Instant;
    use str0m::media::{Direction, MediaKind};
    let offer = || {
        let mut rtc = str0m::Rtc::builder().build(Instant::now());
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        change.apply().expect("offer").0.to_sdp_string()
    };
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut pupil, _, welcome) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    pupil.send(json!({"type": "offer", "sdp": offer()})).await;
    pupil.expect_type("answer").await;
    drop(pupil);

    let mut back = Client::connect(&server).await;
    back.send(resume(&class, &token, 0)).await;
    assert_eq!(back.expect_type("resumed").await["media"], "kept");
    drop(back);

    // A reloaded page has no peer connection any more: it asks for a fresh media session.
    let mut reloaded = Client::connect(&server).await;
    let mut ask = resume(&class, &token, 0);
    ask["restart_media"] = json!(true);
    reloaded.send(ask).await;
    assert_eq!(reloaded.expect_type("resumed").await["media"], "restart");
    reloaded
        .send(json!({"type": "offer", "sdp": offer()}))
        .await;
    reloaded.expect_type("answer").await;
    server.shutdown().await.expect("shutdown");
}
