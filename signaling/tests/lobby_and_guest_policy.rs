//! The lobby: with "ask the teacher", pupils wait until a teacher admits or denies them; "always
//! deny" turns them away at the door; teachers never wait.

mod common;

use common::{Class, Client};
use serde_json::json;
use signaling::Server;

/// Sets the guest policy to "ask the teacher", then a pupil joins and is told to wait.
async fn pupil_waiting_in_the_lobby(
    server: &Server,
    class: &Class,
    teacher: &mut Client,
) -> Client {
    teacher
        .send(json!({"type": "set_guest_policy", "policy": "ask_teacher"}))
        .await;
    teacher.expect_type("settings").await;
    let mut pupil = Client::connect(server).await;
    pupil
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "P"}))
        .await;
    pupil.expect_type("lobby_waiting").await;
    pupil
}

#[tokio::test]
async fn a_waiting_pupil_is_admitted_or_denied_by_the_teacher() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    teacher
        .send(json!({"type": "set_guest_policy", "policy": "ask_teacher"}))
        .await;
    assert_eq!(
        teacher.expect_type("settings").await["settings"]["guest_policy"],
        "ask_teacher"
    );

    let join = json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "Waiting Wanda"});
    let mut wanda = Client::connect(&server).await;
    wanda.send(join.clone()).await;
    wanda.expect_type("lobby_waiting").await;
    let lobby = teacher.expect_type("lobby").await;
    assert_eq!(lobby["waiting"][0]["name"], "Waiting Wanda");
    let wanda_id = lobby["waiting"][0]["id"].as_str().expect("id").to_owned();
    // While waiting, nothing but waiting.
    wanda
        .refused(json!({"type": "chat", "text": "let me in"}), "not_joined")
        .await;
    wanda
        .refused(json!({"type": "offer", "sdp": "v=0"}), "not_joined")
        .await;

    let mut walter = Client::connect(&server).await;
    walter.send(join.clone()).await;
    walter.expect_type("lobby_waiting").await;
    let lobby = teacher.expect_type("lobby").await;
    let walter_id = lobby["waiting"][1]["id"].as_str().expect("id").to_owned();

    // A second teacher sees the lobby in its welcome; teachers never wait.
    let (_co, _, welcome) = Client::joined(&server, &class, &class.teacher_token, "T2").await;
    assert_eq!(welcome["lobby"].as_array().map(Vec::len), Some(2));

    teacher
        .send(json!({"type": "admit", "participant": wanda_id}))
        .await;
    let welcome = wanda.expect_type("welcome").await;
    assert_eq!(welcome["you"]["id"], wanda_id);
    teacher.expect_type("participant_joined").await;
    teacher
        .send(json!({"type": "deny", "participant": walter_id}))
        .await;
    assert_eq!(walter.expect_type("bye").await["reason"], "denied");
    walter.expect_close(1000).await;
    teacher
        .refused(
            json!({"type": "admit", "participant": walter_id}),
            "no_such_participant",
        )
        .await;

    teacher
        .send(json!({"type": "set_guest_policy", "policy": "always_deny"}))
        .await;
    teacher.expect_type("settings").await;
    let mut late = Client::connect(&server).await;
    late.send(join).await;
    late.expect_error("denied").await;
    late.expect_close(4003).await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn switching_to_always_accept_lets_everyone_waiting_in() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let mut pupil = pupil_waiting_in_the_lobby(&server, &class, &mut teacher).await;
    teacher
        .send(json!({"type": "set_guest_policy", "policy": "always_accept"}))
        .await;
    pupil.expect_type("welcome").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_guest_who_gives_up_leaves_the_lobby() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let pupil = pupil_waiting_in_the_lobby(&server, &class, &mut teacher).await;
    teacher.expect_type("lobby").await;
    drop(pupil);
    let lobby = teacher.expect_type("lobby").await;
    assert_eq!(lobby["waiting"], json!([]));
    server.shutdown().await.expect("shutdown");
}
