//! The `classroom` binary itself: starts with flags, serves, says goodbye to sessions and exits 0
//! on SIGTERM and SIGINT; refuses a bad configuration with a clear message and exit code 2.

mod common;

use std::time::Duration;

use common::binary::{listening_addr, signal, spawn, stderr_of, wait_exit, EPHEMERAL};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// Sessions open when SIGTERM arrives: enough that some are still being set up or flushing when
/// the HTTP side stops, which is where a goodbye used to be lost (the process exited first).
const SESSIONS_AT_SHUTDOWN: usize = 20;

#[tokio::test]
async fn sigterm_says_bye_to_sessions_and_exits_zero() {
    let mut child = spawn(&EPHEMERAL);
    let addr = listening_addr(&mut child);
    let mut sessions = Vec::new();
    for _ in 0..SESSIONS_AT_SHUTDOWN {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("ws connects");
        sessions.push(ws);
    }
    signal(&child, "TERM");
    for (i, ws) in sessions.iter_mut().enumerate() {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the session hears of the shutdown")
            .expect("a frame")
            .unwrap_or_else(|e| panic!("session {i}: no goodbye, {e}"));
        let text = frame.into_text().expect("text");
        assert!(
            text.contains("\"bye\"") && text.contains("shutting_down"),
            "session {i}: {text}"
        );
        let close = ws.next().await.expect("a close frame").expect("no error");
        let Message::Close(Some(close)) = close else {
            panic!("session {i}: {close:?} instead of a close frame");
        };
        assert_eq!(u16::from(close.code), 1001, "session {i}: going away");
    }
    let status = wait_exit(&mut child);
    assert!(status.success(), "exit status {status}");
}

#[test]
fn sigint_exits_zero() {
    let mut child = spawn(&EPHEMERAL);
    listening_addr(&mut child);
    signal(&child, "INT");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn a_bad_configuration_is_refused_with_a_reason() {
    let mut child = spawn(&["--admin-key", "short"]);
    let status = wait_exit(&mut child);
    assert_eq!(status.code(), Some(2));
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("admin_key"), "{stderr}");

    let mut child = spawn(&["--config", "/nonexistent/classroom.toml"]);
    assert_eq!(wait_exit(&mut child).code(), Some(2));
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let mut child = spawn(&["--http", &addr, "--udp-port-base", "0"]);
    let status = wait_exit(&mut child);
    assert!(!status.success());
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
