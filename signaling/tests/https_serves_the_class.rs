//! HTTPS built in: pages, class creation and the WebSocket (WSS) over TLS with the operator's
//! certificate files, HSTS on every response, a renewed certificate served without a restart
//! (and a broken one never), plain HTTP redirected, and bad files refused at start.

mod common;

use std::time::{Duration, Instant};

use common::tls::{connect, make_cert, request, served_cert, temp_dir, try_connect, write_pair};
use common::{test_config, WAIT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use signaling::{Config, Server};
use tokio_tungstenite::tungstenite::Message;

fn tls_config(dir: &std::path::Path, cert: &common::tls::TestCert) -> Config {
    let (cert_file, key_file) = write_pair(dir, cert);
    let mut config = test_config();
    config.tls.cert_file = Some(cert_file);
    config.tls.key_file = Some(key_file);
    config.allowed_origins = vec!["https://moodle.example.org".into()];
    config
}

#[tokio::test]
async fn pages_rooms_and_websocket_are_served_over_tls_with_hsts() {
    let dir = temp_dir("https-serves");
    let cert = make_cert(&["127.0.0.1", "localhost"]);
    let server = Server::start(tls_config(&dir, &cert))
        .await
        .expect("starts");
    let addr = server.http_addr;

    let mut tls = connect(addr, &[&cert]).await;
    let page = request(&mut tls, "GET", "/", "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html"), "the page itself");
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("frame-ancestors 'self' https://moodle.example.org"),
        "{csp}"
    );

    // Invitation links name the scheme the class is actually served with.
    let mut tls = connect(addr, &[&cert]).await;
    let created = request(&mut tls, "POST", "/api/rooms", "").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let room: Value = serde_json::from_str(&created.body).expect("json");
    let teacher_url = room["teacher_url"].as_str().expect("url");
    assert!(
        teacher_url.starts_with("https://127.0.0.1"),
        "{teacher_url}"
    );
    let token = teacher_url.split("token=").nth(1).expect("token");

    // WSS: the same router behind the same TLS listener.
    let tls = connect(addr, &[&cert]).await;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("wss://127.0.0.1:{}/ws", addr.port()), tls)
            .await
            .expect("websocket over TLS");
    let join = json!({"type": "join", "version": 1, "room": room["room"], "token": token, "name": "Teacher"});
    ws.send(Message::Text(join.to_string().into()))
        .await
        .expect("send");
    let welcome = loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            break serde_json::from_str::<Value>(&text).expect("json");
        }
    };
    assert_eq!(welcome["type"], "welcome", "{welcome}");

    // Plain HTTP on the HTTPS port gets no page (rustls answers with an alert and closes).
    let mut plain = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut raw))
        .await
        .expect("closed in time");
    assert!(!String::from_utf8_lossy(&raw).contains("<html"));

    // A client that trusts another certificate refuses this server.
    let stranger = make_cert(&["127.0.0.1"]);
    assert!(try_connect(addr, &[&stranger]).await.is_err());
    drop(ws);
    server.shutdown().await.expect("stops");
}

/// Opens `n` TCP connections to `addr` that never say anything.
async fn silent_connections(addr: std::net::SocketAddr, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut silent = Vec::new();
    for _ in 0..n {
        silent.push(tokio::net::TcpStream::connect(addr).await.expect("tcp"));
    }
    silent
}

/// Whether the server has closed `stream` (reading 0 bytes or an error), waiting at most `wait`.
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    match tokio::time::timeout(wait, stream.read(&mut byte)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => panic!("a silent connection got an answer"),
        Err(_) => false,
    }
}

#[tokio::test]
async fn stalled_handshakes_run_beside_others_and_end_at_their_deadline() {
    let dir = temp_dir("https-stalled");
    let cert = make_cert(&["127.0.0.1"]);
    let mut config = tls_config(&dir, &cert);
    config.tls.handshake_timeout_secs = 5;
    let server = Server::start(config).await.expect("starts");
    let mut silent = silent_connections(server.http_addr, 8).await;
    // A real client is served while the silent ones still hold their handshakes open.
    let mut tls = connect(server.http_addr, &[&cert]).await;
    assert_eq!(request(&mut tls, "GET", "/healthz", "").await.status, 200);
    assert!(
        !closed_within(&mut silent[0], Duration::ZERO).await,
        "served before the stalled handshakes' deadline"
    );
    for stream in &mut silent {
        assert!(closed_within(stream, WAIT).await, "dropped at the deadline");
    }
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn past_the_handshake_cap_new_clients_wait_their_turn() {
    let dir = temp_dir("https-cap");
    let cert = make_cert(&["127.0.0.1"]);
    let mut config = tls_config(&dir, &cert);
    config.tls.max_handshakes = 2;
    config.tls.handshake_timeout_secs = 1;
    let server = Server::start(config).await.expect("starts");
    let mut silent = silent_connections(server.http_addr, 2).await;
    // Both places are taken: the real client is served once a stalled one has timed out.
    let mut tls = connect(server.http_addr, &[&cert]).await;
    assert_eq!(request(&mut tls, "GET", "/healthz", "").await.status, 200);
    let mut freed = 0;
    for stream in &mut silent {
        freed += usize::from(closed_within(stream, Duration::ZERO).await);
    }
    assert!(
        freed >= 1,
        "a place was freed by dropping a stalled handshake"
    );
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_one_never() {
    let dir = temp_dir("https-reload");
    let first = make_cert(&["127.0.0.1"]);
    let mut config = tls_config(&dir, &first);
    config.tls.reload_check_secs = 1;
    let server = Server::start(config).await.expect("starts");
    let addr = server.http_addr;
    let renewed = make_cert(&["127.0.0.1"]);
    let both = [&first, &renewed];
    assert_eq!(served_cert(&connect(addr, &both).await), first.der);

    // The renewal lands the way certbot writes it: a new file, then renamed over the old.
    let staged = temp_dir("https-reload-staged");
    let (cert_file, key_file) = write_pair(&staged, &renewed);
    std::fs::rename(&key_file, dir.join("key.pem")).expect("rename");
    std::fs::rename(&cert_file, dir.join("cert.pem")).expect("rename");
    let deadline = Instant::now() + WAIT;
    while served_cert(&connect(addr, &both).await) != renewed.der {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is served within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A broken pair (a key that is not the certificate's) is refused; the renewed one stays.
    let stray = make_cert(&["127.0.0.1"]);
    std::fs::write(dir.join("key.pem"), &stray.key_pem).expect("write");
    assert_eq!(
        server.tls.as_ref().expect("tls").cert.reload(true),
        signaling::tls::Reload::KeptOld
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(served_cert(&connect(addr, &both).await), renewed.der);
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_except_the_health_check() {
    let dir = temp_dir("https-redirect");
    let cert = make_cert(&["127.0.0.1"]);
    let mut config = tls_config(&dir, &cert);
    config.tls.redirect_http = Some("127.0.0.1:0".parse().expect("addr"));
    let server = Server::start(config).await.expect("starts");
    let redirect = server.redirect_addr.expect("redirect listener");

    for (method, path) in [
        ("GET", "/class/abc?token=xyz"),
        ("GET", "/"),
        ("POST", "/api/rooms"),
    ] {
        let mut plain = tokio::net::TcpStream::connect(redirect).await.expect("tcp");
        let response = request(&mut plain, method, path, "").await;
        assert_eq!(response.status, 308, "{method} {path}");
        let expected = format!("https://127.0.0.1:{}{path}", server.http_addr.port());
        assert_eq!(response.header("location"), Some(expected.as_str()));
    }
    let mut plain = tokio::net::TcpStream::connect(redirect).await.expect("tcp");
    let health = request(&mut plain, "GET", "/healthz", "").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    // Nothing was created through the redirect listener.
    assert_eq!(server.state.rooms.len(), 0);
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn bad_certificate_files_stop_the_start_with_a_clear_message() {
    let dir = temp_dir("https-bad");
    let cert = make_cert(&["127.0.0.1"]);
    let other = make_cert(&["127.0.0.1"]);
    let (cert_file, key_file) = write_pair(&dir, &cert);
    let other_key = dir.join("other-key.pem");
    std::fs::write(&other_key, &other.key_pem).expect("write");
    let missing = dir.join("missing.pem");
    for (cert_path, key_path, needle) in [
        (&missing, &key_file, "cannot read TLS file"),
        (&key_file, &key_file, "no PEM certificate"),
        (&cert_file, &other_key, "does not belong"),
    ] {
        let mut config = test_config();
        config.tls.cert_file = Some(cert_path.clone());
        config.tls.key_file = Some(key_path.clone());
        let err = Server::start(config).await.expect_err(needle).to_string();
        assert!(err.contains(needle), "{err}");
    }

    // The binary says so and exits non-zero, before taking any port.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_classroom"))
        .args(["--http", "127.0.0.1:0", "--udp-port-base", "0"])
        .arg("--tls-cert-file")
        .arg(&missing)
        .arg("--tls-key-file")
        .arg(&key_file)
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read TLS file") && stderr.contains("missing.pem"),
        "{stderr}"
    );

    // Half a configuration is refused before anything is read.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_classroom"))
        .arg("--tls-cert-file")
        .arg(&cert_file)
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("set both cert_file and key_file"));
}
