//! Teachers' actions through the real server: each one takes effect for everyone at once.

mod common;

use common::{Client, Next};
use serde_json::json;

#[tokio::test]
async fn mute_camera_off_and_stop_screen_revoke_rights_and_everyone_sees_it() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, pupil_id, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    let (mut other, _, _) = Client::joined(&server, &class, &class.pupil_token, "Q").await;

    teacher
        .send(json!({"type": "mute", "participant": pupil_id}))
        .await;
    let rights = pupil.expect_type("rights").await;
    assert_eq!(
        rights["rights"],
        json!({"mic": false, "camera": true, "screen": false, "chat": true})
    );
    let seen = other.expect_type("participant_updated").await;
    assert_eq!(seen["participant"]["id"], pupil_id);
    assert_eq!(seen["participant"]["audio"], false);
    // The pupil cannot turn its mic back on: the server keeps it off.
    pupil
        .send(json!({"type": "media_state", "audio": true, "video": true}))
        .await;
    pupil.drain().await;
    assert!(
        other.drain().await.is_empty(),
        "a muted pupil cannot show its mic as on"
    );

    teacher
        .send(json!({"type": "camera_off", "participant": pupil_id}))
        .await;
    assert_eq!(pupil.expect_type("rights").await["rights"]["camera"], false);
    teacher
        .send(json!({"type": "set_rights", "participant": pupil_id, "screen": true}))
        .await;
    assert_eq!(pupil.expect_type("rights").await["rights"]["screen"], true);
    pupil
        .send(json!({"type": "media_state", "audio": false, "video": false, "screen": true}))
        .await;
    pupil.drain().await;
    let shared = loop {
        let m = other.expect_type("participant_updated").await;
        if m["participant"]["screen"] == true {
            break m;
        }
    };
    assert_eq!(shared["participant"]["id"], pupil_id);
    teacher
        .send(json!({"type": "stop_screen", "participant": pupil_id}))
        .await;
    let rights = pupil.expect_type("rights").await;
    assert_eq!(rights["rights"]["screen"], false);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn mute_all_mutes_every_pupil_but_no_teacher() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut co, _, _) = Client::joined(&server, &class, &class.teacher_token, "T2").await;
    let (mut a, _, _) = Client::joined(&server, &class, &class.pupil_token, "A").await;
    let (mut b, _, _) = Client::joined(&server, &class, &class.pupil_token, "B").await;
    teacher.send(json!({"type": "mute_all"})).await;
    teacher.drain().await;
    assert_eq!(a.expect_type("rights").await["rights"]["mic"], false);
    assert_eq!(b.expect_type("rights").await["rights"]["mic"], false);
    assert!(
        co.drain().await.iter().all(|m| m["type"] != "rights"),
        "teachers keep their mic"
    );
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_kicked_pupil_is_gone_and_with_bar_cannot_come_back_from_that_device() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let mut pupil = Client::connect(&server).await;
    pupil
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "P", "device": "laptop-7"}))
        .await;
    let welcome = pupil.expect_type("welcome").await;
    let pupil_id = welcome["you"]["id"].as_str().expect("id").to_owned();
    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    teacher
        .send(json!({"type": "kick", "participant": pupil_id, "bar": true}))
        .await;
    assert_eq!(pupil.expect_type("bye").await["reason"], "kicked");
    pupil.expect_close(1000).await;
    assert_eq!(
        teacher.expect_type("participant_left").await["id"],
        pupil_id
    );

    let mut again = Client::connect(&server).await;
    again
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "P", "device": "laptop-7"}))
        .await;
    again.expect_error("barred").await;
    again.expect_close(4003).await;
    // Its resume token died with the kick.
    let mut resumer = Client::connect(&server).await;
    resumer
        .refused(
            json!({"type": "resume", "version": 1, "room": class.room, "token": token, "last_chat_seq": 0}),
            "bad_resume_token",
        )
        .await;
    // Another device on the shared link still gets in.
    let mut fresh = Client::connect(&server).await;
    fresh
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "R", "device": "tablet-2"}))
        .await;
    fresh.expect_type("welcome").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_locked_class_keeps_pupils_out_but_lets_teachers_in() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    teacher.send(json!({"type": "lock", "locked": true})).await;
    assert_eq!(
        teacher.expect_type("settings").await["settings"]["locked"],
        true
    );
    let mut pupil = Client::connect(&server).await;
    pupil
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "P"}))
        .await;
    pupil.expect_error("room_locked").await;
    pupil.expect_close(4003).await;
    Client::joined(&server, &class, &class.teacher_token, "T2").await;
    teacher.send(json!({"type": "lock", "locked": false})).await;
    teacher.expect_type("settings").await;
    Client::joined(&server, &class, &class.pupil_token, "P").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_promoted_pupil_moderates_and_can_be_demoted() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, teacher_id, _) =
        Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut co, co_id, _) = Client::joined(&server, &class, &class.pupil_token, "Co").await;
    let (mut pupil, pupil_id, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    teacher
        .send(json!({"type": "promote", "participant": co_id}))
        .await;
    let update = pupil.expect_type("participant_updated").await;
    assert_eq!(update["participant"]["role"], "teacher");
    co.expect_type("lobby").await;
    co.send(json!({"type": "mute", "participant": pupil_id}))
        .await;
    assert_eq!(pupil.expect_type("rights").await["rights"]["mic"], false);
    co.refused(
        json!({"type": "demote", "participant": teacher_id}),
        "forbidden",
    )
    .await;
    teacher
        .send(json!({"type": "demote", "participant": co_id}))
        .await;
    teacher.drain().await;
    co.drain().await;
    co.refused(json!({"type": "mute_all"}), "forbidden").await;
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn ending_the_class_says_bye_to_everyone_and_the_links_stop_working() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    teacher.send(json!({"type": "end_class"})).await;
    for client in [&mut teacher, &mut pupil] {
        assert_eq!(client.expect_type("bye").await["reason"], "class_ended");
        assert!(matches!(client.next().await, Next::Closed(Some(1000))));
    }
    let mut late = Client::connect(&server).await;
    late.send(json!({"type": "join", "version": 1, "room": class.room, "token": class.teacher_token, "name": "T"}))
        .await;
    late.expect_error("no_such_room").await;
    assert_eq!(server.state.rooms.len(), 0);
    server.shutdown().await.expect("shutdown");
}
