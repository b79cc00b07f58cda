//! With `[turn]`, every member's `welcome` and `resumed` carry relay credentials signed for that
//! member alone (`<expiry>:<participant id>`, nothing personal), and a member can ask for fresh
//! ones; a connection that has not joined, or a guest still in the lobby, is refused. Without
//! `[turn]` the list is empty. A `[turn]` whose secret is missing or short stops the start.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{binary, Client};
use serde_json::{json, Value};
use signaling::auth::Secret;
use signaling::turn::TurnSection;
use signaling::Server;

const LIFETIME_SECS: u64 = 600;

fn turn_config() -> signaling::Config {
    let mut config = common::test_config();
    config.turn = Some(TurnSection {
        urls: vec![
            "turn:turn.example.org:3478".into(),
            "turns:turn.example.org:443?transport=tcp".into(),
        ],
        secret: Some(Secret("0123456789abcdef0123456789abcdef-test".into())),
        credential_lifetime_secs: LIFETIME_SECS,
        secret_file: None,
    });
    config
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Checks `message` carries one relay entry for participant `id`, expiring a lifetime from now.
fn assert_credentials_for(message: &Value, id: &str) -> String {
    let servers = message["ice_servers"].as_array().expect("ice_servers");
    assert_eq!(servers.len(), 1, "{message}");
    let server = &servers[0];
    assert_eq!(server["urls"][0], "turn:turn.example.org:3478");
    assert_eq!(
        server["urls"][1],
        "turns:turn.example.org:443?transport=tcp"
    );
    let username = server["username"].as_str().expect("username");
    let (expiry, who) = username.split_once(':').expect("expiry:participant");
    assert_eq!(who, id, "the participant id and nothing else: {username}");
    let expiry: u64 = expiry.parse().expect("a Unix time");
    let now = unix_now();
    assert!(
        expiry > now && expiry <= now + LIFETIME_SECS + 1,
        "expires a lifetime from now: {expiry} vs {now}"
    );
    assert_eq!(message["ice_servers_valid_secs"], LIFETIME_SECS);
    assert!(server["credential"].as_str().is_some_and(|c| c.len() == 28));
    username.to_owned()
}

#[tokio::test]
async fn members_get_their_own_credentials_on_welcome_resume_and_request() {
    let server = common::start(turn_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, teacher_id, welcome) =
        Client::joined(&server, &class, &class.teacher_token, "T").await;
    assert_credentials_for(&welcome, &teacher_id);
    let (pupil, pupil_id, welcome) = Client::joined(&server, &class, &class.pupil_token, "P").await;
    assert_credentials_for(&welcome, &pupil_id);

    teacher.send(json!({"type": "ice_servers"})).await;
    let fresh = teacher.expect_type("ice_servers").await;
    assert_credentials_for(&fresh, &teacher_id);

    let token = welcome["resume_token"].as_str().expect("token").to_owned();
    drop(pupil);
    teacher.expect_type("reconnecting").await;
    let mut back = Client::connect(&server).await;
    back.send(json!({"type": "resume", "version": 1, "room": class.room, "token": token}))
        .await;
    let resumed = back.expect_type("resumed").await;
    assert_credentials_for(&resumed, &pupil_id);
}

#[tokio::test]
async fn a_connection_outside_the_class_gets_no_credentials() {
    let server = common::start(turn_config()).await;
    let class = common::create_class(&server).await;
    let mut stranger = Client::connect(&server).await;
    stranger
        .refused(json!({"type": "ice_servers"}), "not_joined")
        .await;

    let (mut teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "T").await;
    teacher
        .send(json!({"type": "set_guest_policy", "policy": "ask_teacher"}))
        .await;
    teacher.expect_type("settings").await;
    let mut guest = Client::connect(&server).await;
    guest
        .send(json!({"type": "join", "version": 1, "room": class.room, "token": class.pupil_token, "name": "G"}))
        .await;
    let waiting = guest.expect_type("lobby_waiting").await;
    assert!(waiting.get("ice_servers").is_none());
    guest
        .refused(json!({"type": "ice_servers"}), "not_joined")
        .await;
    // Refused, not closed: once admitted, the guest gets its welcome with credentials.
    let lobby = teacher.expect_type("lobby").await;
    let guest_id = lobby["waiting"][0]["id"].as_str().expect("id").to_owned();
    teacher
        .send(json!({"type": "admit", "participant": guest_id}))
        .await;
    let welcome = guest.expect_type("welcome").await;
    assert_credentials_for(&welcome, &guest_id);
}

#[tokio::test]
async fn without_turn_the_list_is_empty() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, welcome) =
        Client::joined(&server, &class, &class.teacher_token, "T").await;
    assert_eq!(welcome["ice_servers"], json!([]));
    assert!(welcome.get("ice_servers_valid_secs").is_none());
    teacher.send(json!({"type": "ice_servers"})).await;
    assert_eq!(
        teacher.expect_type("ice_servers").await["ice_servers"],
        json!([])
    );
}

#[tokio::test]
async fn a_short_secret_file_stops_the_start_and_is_not_shown() {
    let dir = std::env::temp_dir().join(format!("classroom-turn-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("turn-secret");
    std::fs::write(&path, "hunter2-but-longer\n").expect("write");
    let mut config = turn_config();
    if let Some(turn) = &mut config.turn {
        turn.secret = None;
        turn.secret_file = Some(path.clone());
    }
    let err = Server::start(config)
        .await
        .expect_err("a short secret stops the start")
        .to_string();
    assert!(err.contains("at least 32"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_binary_refuses_turn_without_a_secret_and_says_why() {
    let mut args = binary::EPHEMERAL.to_vec();
    args.extend(["--turn-urls", "turn:turn.example.org:3478"]);
    let mut child = binary::spawn(&args);
    let status = binary::wait_exit(&mut child);
    assert_eq!(status.code(), Some(2), "refused as a bad configuration");
    let stderr = binary::stderr_of(&mut child);
    assert!(stderr.contains("no shared secret"), "{stderr}");
    assert!(stderr.contains("CLASSROOM_TURN_SECRET"), "{stderr}");
}
