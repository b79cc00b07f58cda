//! `POST /api/rooms` creates classes only for who may: from this server's own pages (not another
//! site's), with the admin key whenever the server can be reached beyond this machine, and at a
//! bounded rate per address. Raw HTTP over real TCP, so every header is the test's choice.

mod common;

use std::net::IpAddr;

use serde_json::Value;
use signaling::Server;

const KEY: &str = "a-long-enough-admin-key";

/// POSTs `/api/rooms` from `local` with `headers` (and a text/plain body, as a cross-site form
/// or `fetch` without preflight sends): (status, JSON body).
async fn post_from(server: &Server, local: IpAddr, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut stream = common::tcp_from(server.http_addr, local).await;
    let mut request = format!(
        "POST /api/rooms HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n",
        server.http_addr
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\nhi");
    let (status, body) = common::exchange(&mut stream, &request).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn post(server: &Server, headers: &[(&str, &str)]) -> (u16, Value) {
    post_from(server, "127.0.0.1".parse().expect("ip"), headers).await
}

async fn classes(server: &Server) -> u64 {
    let (status, text) = common::http_get(server, "/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("classroom_classes "))
        .and_then(|n| n.trim().parse().ok())
        .expect("classroom_classes")
}

fn assert_refused(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    assert!(
        answer.1["message"].as_str().is_some_and(|m| m.len() > 20),
        "a refusal says what to do: {}",
        answer.1
    );
}

#[tokio::test]
async fn a_laptop_creates_classes_but_no_other_site_or_proxied_request_does() {
    let server = common::start(common::test_config()).await;
    let own = format!("http://{}", server.http_addr);
    // The quick start: the page on this server, as Chromium sends it.
    let created = post(
        &server,
        &[("Origin", &own), ("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    assert_eq!(post(&server, &[]).await.0, 201, "curl on this machine");

    let cross_site = [
        vec![
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![("Origin", "https://evil.example")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Sec-Fetch-Site", "same-site")],
        vec![("Origin", "null")],
    ];
    for headers in &cross_site {
        assert_refused(&post(&server, headers).await, 403, "cross_site_refused");
    }
    // A same-host reverse proxy: the TCP peer is loopback, but the request is not local.
    for proxy in [
        ("X-Forwarded-For", "203.0.113.5"),
        ("Forwarded", "for=203.0.113.5"),
        ("X-Real-IP", "203.0.113.5"),
    ] {
        let answer = post(&server, &[proxy]).await;
        assert_refused(&answer, 403, "admin_key_required");
        assert!(answer.1["message"]
            .as_str()
            .is_some_and(|m| m.contains("admin_key")));
    }
    assert_eq!(classes(&server).await, 2, "only the two allowed ones exist");
}

#[tokio::test]
async fn a_server_with_a_public_url_needs_the_key_even_from_loopback() {
    let mut config = common::test_config();
    config.public_url = Some("https://classe.example.org".into());
    let server = common::start(config).await;
    let answer = post(&server, &[]).await;
    assert_refused(&answer, 403, "admin_key_required");
    assert!(answer.1["message"]
        .as_str()
        .is_some_and(|m| m.contains("public_url")));
    assert_eq!(classes(&server).await, 0);
}

#[tokio::test]
async fn with_the_admin_key_set_only_the_key_creates_and_never_cross_site() {
    let mut config = common::test_config();
    config.admin_key = Some(KEY.into());
    let server = common::start(config).await;
    let bearer = format!("Bearer {KEY}");
    assert_refused(&post(&server, &[]).await, 401, "admin_key_required");
    assert_refused(
        &post(&server, &[("Authorization", "Bearer not-the-key-at-all")]).await,
        401,
        "bad_admin_key",
    );
    assert_refused(
        &post(
            &server,
            &[
                ("Authorization", &bearer),
                ("Origin", "https://evil.example"),
            ],
        )
        .await,
        403,
        "cross_site_refused",
    );
    let own = format!("http://{}", server.http_addr);
    let created = post(
        &server,
        &[
            ("Authorization", &bearer),
            ("Origin", &own),
            ("X-Forwarded-For", "203.0.113.5"),
        ],
    )
    .await;
    assert_eq!(
        created.0, 201,
        "the key works behind a proxy too: {}",
        created.1
    );
    assert_eq!(classes(&server).await, 1);
}

#[tokio::test]
async fn one_address_creates_at_a_bounded_rate_and_others_are_not_affected() {
    let mut config = common::test_config();
    config.limits.room_creation_burst = 3;
    config.limits.room_creations_per_minute = 1;
    let server = common::start(config).await;
    for _ in 0..3 {
        assert_eq!(post(&server, &[]).await.0, 201);
    }
    for _ in 0..5 {
        assert_refused(&post(&server, &[]).await, 429, "too_many_creations");
    }
    let elsewhere = post_from(&server, "127.0.0.2".parse().expect("ip"), &[]).await;
    assert_eq!(elsewhere.0, 201, "another address has its own allowance");
    assert_eq!(classes(&server).await, 4);
}
