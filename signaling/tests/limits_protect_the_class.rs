//! The limits, each against a real client: a flooding pupil is told `rate_limited` and then
//! closed (4008) while the rest of the class loses nothing; a page of a foreign origin cannot open
//! a socket; a node holds at most `max_rooms` classes.

mod common;

use common::{Client, Next};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_limited_then_closed_and_the_class_loses_nothing() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut good = Client::connect(&server).await;
    good.join(&class, &class.pupil_token, "Good").await;
    let mut teacher = Client::connect(&server).await;
    teacher.join(&class, &class.teacher_token, "Teacher").await;
    let mut flooder = Client::connect(&server).await;
    let welcome = flooder.join(&class, &class.pupil_token, "Flooder").await;
    let flooder_id = welcome["you"]["id"].clone();
    good.expect_type("participant_joined").await;
    good.expect_type("participant_joined").await;

    let flood = tokio::spawn(async move {
        for _ in 0..400 {
            flooder
                .send_raw(Message::Text(json!({"type": "ping"}).to_string().into()))
                .await;
        }
        let (mut pongs, mut limited) = (0, 0);
        loop {
            match flooder.next().await {
                Next::Message(m) if m["type"] == "pong" => pongs += 1,
                Next::Message(m) if m["code"] == "rate_limited" => limited += 1,
                // The teacher's updates reach the flooder too, until it is closed.
                Next::Message(m) if m["type"] == "participant_updated" => {}
                Next::Message(m) => panic!("unexpected {m}"),
                Next::Closed(code) => return (pongs, limited, code),
            }
        }
    });
    // Meanwhile the teacher, within the limit, turns the camera off and on 20 times.
    const UPDATES: usize = 20;
    for i in 0..UPDATES {
        teacher
            .send(json!({"type": "media_state", "audio": true, "video": i % 2 == 1}))
            .await;
    }
    let (pongs, limited, code) = flood.await.expect("flooder task");
    assert_eq!(code, Some(signaling::limits::FLOOD_CLOSE_CODE));
    assert!(limited >= 1, "told to slow down first");
    assert!(
        pongs <= 60,
        "the burst (50) and a little refill got through, not more: {pongs}"
    );

    // The good pupil got every update, in order, and saw the flooder leave.
    let mut updates = Vec::new();
    let mut flooder_left = false;
    while updates.len() < UPDATES || !flooder_left {
        let message = good.message().await;
        match message["type"].as_str() {
            Some("participant_updated") => updates.push(message["participant"]["video"].clone()),
            Some("participant_left") => {
                assert_eq!(message["id"], flooder_id);
                flooder_left = true;
            }
            _ => panic!("unexpected {message}"),
        }
    }
    let expected: Vec<_> = (0..UPDATES).map(|i| json!(i % 2 == 1)).collect();
    assert_eq!(updates, expected);
    teacher.send(json!({"type": "ping"})).await;
    teacher.expect_type("pong").await;
}

#[tokio::test]
async fn a_page_of_a_foreign_origin_cannot_open_a_socket() {
    let mut config = common::test_config();
    config.allowed_origins = vec!["https://moodle.example.org".into()];
    let server = common::start(config).await;
    let class = common::create_class(&server).await;

    let (status, body) = Client::connect_from(&server, "https://evil.example")
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 403);
    assert!(body.contains("origin_not_allowed"), "{body}");
    let (status, _) = Client::connect_from(&server, "null")
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 403);

    let own = format!("http://{}", server.http_addr);
    for origin in [own.as_str(), "https://moodle.example.org"] {
        let mut client = Client::connect_from(&server, origin)
            .await
            .unwrap_or_else(|(status, body)| panic!("{origin} refused: {status} {body}"));
        client.join(&class, &class.pupil_token, "Pupil").await;
    }
    // Without an Origin (not a browser: an LMS, the load test).
    let mut client = Client::connect(&server).await;
    client.join(&class, &class.pupil_token, "Bot").await;
}

#[tokio::test]
async fn no_class_is_created_past_max_rooms() {
    let mut config = common::test_config();
    config.limits.max_rooms = 2;
    let server = common::start(config).await;
    common::create_class(&server).await;
    common::create_class(&server).await;
    let (status, body) = common::http_post(&server, "/api/rooms", None).await;
    assert_eq!(status, 503, "{body}");
    let value: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(value["error"], "too_many_rooms");
    assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn the_message_size_limit_is_configurable() {
    let mut config = common::test_config();
    config.limits.max_message_bytes = 20 * 1024;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut client = Client::connect(&server).await;
    client.join(&class, &class.pupil_token, "Pupil").await;
    client
        .send(json!({"type": "offer", "sdp": "x".repeat(30 * 1024)}))
        .await;
    let error = client.expect_error("message_too_large").await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("20480")),
        "{error}"
    );
    client.expect_close(1009).await;
}
