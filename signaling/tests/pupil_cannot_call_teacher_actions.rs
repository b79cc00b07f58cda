//! The server enforces the class rules: a pupil can never mute, kick, demote or otherwise act on a
//! teacher, nor call any teacher action. Each attempt gets `forbidden` and nobody else hears of it.

mod common;

use common::Client;
use serde_json::{json, Value};

async fn class_of_three() -> (
    signaling::Server,
    Client,
    String,
    Client,
    String,
    Client,
    String,
) {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (teacher, teacher_id, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (pupil, pupil_id, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    let (other, other_id, _) = Client::joined(&server, &class, &class.pupil_token, "Q").await;
    (
        server, teacher, teacher_id, pupil, pupil_id, other, other_id,
    )
}

/// After the pupil's attempt, neither the teacher nor the other pupil got anything.
async fn nobody_else_heard(teacher: &mut Client, other: &mut Client) {
    let heard = teacher.drain().await;
    assert!(
        heard.iter().all(|m| m["type"] == "participant_joined"),
        "{heard:?}"
    );
    assert!(other.drain().await.is_empty());
}

#[tokio::test]
async fn pupil_cannot_mute_teacher() {
    let (server, mut teacher, teacher_id, mut pupil, _, mut other, _) = class_of_three().await;
    pupil
        .refused(
            json!({"type": "mute", "participant": teacher_id}),
            "forbidden",
        )
        .await;
    nobody_else_heard(&mut teacher, &mut other).await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn pupil_cannot_kick_teacher() {
    let (server, mut teacher, teacher_id, mut pupil, _, mut other, _) = class_of_three().await;
    pupil
        .refused(
            json!({"type": "kick", "participant": teacher_id, "bar": true}),
            "forbidden",
        )
        .await;
    nobody_else_heard(&mut teacher, &mut other).await;
    teacher.send(json!({"type": "raise_hand"})).await;
    teacher.expect_error("not_allowed").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn pupil_cannot_demote_teacher() {
    let (server, mut teacher, teacher_id, mut pupil, _, mut other, _) = class_of_three().await;
    pupil
        .refused(
            json!({"type": "demote", "participant": teacher_id}),
            "forbidden",
        )
        .await;
    nobody_else_heard(&mut teacher, &mut other).await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn pupil_cannot_call_any_teacher_action() {
    let (server, mut teacher, teacher_id, mut pupil, pupil_id, mut other, other_id) =
        class_of_three().await;
    let attempts: Vec<Value> = vec![
        json!({"type": "mute", "participant": other_id}),
        json!({"type": "mute_all"}),
        json!({"type": "camera_off", "participant": other_id}),
        json!({"type": "camera_off", "participant": teacher_id}),
        json!({"type": "stop_screen", "participant": teacher_id}),
        json!({"type": "kick", "participant": other_id}),
        json!({"type": "lock", "locked": true}),
        json!({"type": "set_guest_policy", "policy": "always_deny"}),
        json!({"type": "admit", "participant": "p999"}),
        json!({"type": "deny", "participant": "p999"}),
        json!({"type": "promote", "participant": pupil_id}),
        json!({"type": "give_floor", "participant": pupil_id}),
        json!({"type": "take_floor", "participant": other_id}),
        json!({"type": "set_chat", "enabled": false}),
        json!({"type": "set_settings", "pupil_screen": true}),
        json!({"type": "set_rights", "participant": pupil_id, "screen": true}),
        json!({"type": "lower_hand", "participant": other_id}),
        json!({"type": "lower_all_hands"}),
        json!({"type": "end_class"}),
    ];
    for attempt in attempts {
        pupil.send(attempt.clone()).await;
        let reply = pupil.expect_type("error").await;
        assert_eq!(reply["code"], "forbidden", "{attempt}: {reply}");
        eprintln!("{} -> {}", attempt["type"], reply["message"]);
    }
    nobody_else_heard(&mut teacher, &mut other).await;
    // The pupil is still in, with its rights untouched.
    pupil
        .send(json!({"type": "chat", "text": "still here"}))
        .await;
    assert_eq!(pupil.expect_type("chat").await["text"], "still here");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_observer_only_receives() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut observer, observer_id, welcome) =
        Client::joined(&server, &class, &class.observer_token, "O").await;
    assert_eq!(welcome["you"]["role"], "observer");
    assert_eq!(
        welcome["you"]["rights"],
        json!({"mic": false, "camera": false, "screen": false, "chat": false})
    );
    observer
        .refused(json!({"type": "chat", "text": "hi"}), "not_allowed")
        .await;
    observer
        .refused(json!({"type": "raise_hand"}), "not_allowed")
        .await;
    teacher.drain().await;
    teacher
        .refused(
            json!({"type": "give_floor", "participant": observer_id}),
            "bad_target",
        )
        .await;
    server.shutdown().await.expect("shutdown");
}
