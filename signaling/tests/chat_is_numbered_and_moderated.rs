//! Chat through the real server: numbered by the server, kept (bounded) for newcomers, refused
//! when the teacher turned it off, and checked for size.

mod common;

use common::Client;
use serde_json::json;

#[tokio::test]
async fn messages_carry_sequence_numbers_and_newcomers_get_the_history() {
    let mut config = common::test_config();
    config.chat_history = 2;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let (mut teacher, teacher_id, _) =
        Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    for text in ["one", "two", "three"] {
        teacher.send(json!({"type": "chat", "text": text})).await;
    }
    for (seq, text) in [(1, "one"), (2, "two"), (3, "three")] {
        let chat = pupil.expect_type("chat").await;
        assert_eq!(chat["seq"], seq);
        assert_eq!(chat["text"], text);
        assert_eq!(chat["from"], teacher_id);
        assert_eq!(chat["name"], "T");
    }
    let (_late, _, welcome) = Client::joined(&server, &class, &class.pupil_token, "L").await;
    let history: Vec<_> = welcome["chat"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["seq"].as_u64())
        .collect();
    assert_eq!(history, vec![Some(2), Some(3)], "bounded to the last two");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_teacher_turns_chat_off_and_long_messages_are_refused() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    let (mut pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    pupil
        .refused(
            json!({"type": "chat", "text": "x".repeat(2001)}),
            "bad_chat",
        )
        .await;
    pupil
        .refused(json!({"type": "chat", "text": "  "}), "bad_chat")
        .await;
    teacher
        .send(json!({"type": "set_chat", "enabled": false}))
        .await;
    assert_eq!(
        pupil.expect_type("settings").await["settings"]["chat"],
        false
    );
    assert_eq!(pupil.expect_type("rights").await["rights"]["chat"], false);
    pupil.drain().await;
    pupil
        .refused(json!({"type": "chat", "text": "hello?"}), "chat_disabled")
        .await;
    teacher.drain().await;
    assert!(
        teacher.drain().await.iter().all(|m| m["type"] != "chat"),
        "nothing reached anyone"
    );
    teacher
        .send(json!({"type": "chat", "text": "teachers may still write"}))
        .await;
    assert_eq!(pupil.expect_type("chat").await["seq"], 1);
    server.shutdown().await.expect("shutdown");
}
