//! `/metrics` on a public bind: a bearer token, or an address of its own. Class pages may be
//! framed only by the server itself and the LMS origins the operator allowed.

mod common;

use common::tls::{request, Response};
use common::{start, test_config};
use signaling::Server;

const TOKEN: &str = "metrics-token-0123456789";

async fn get(addr: std::net::SocketAddr, path: &str, extra: &str) -> Response {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    request(&mut tcp, "GET", path, extra).await
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let dir = common::tls::temp_dir("metrics-token");
    let file = dir.join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).expect("write");
    let mut config = test_config();
    config.metrics.token_file = Some(file);
    let server = start(config).await;
    let addr = server.http_addr;

    let refused = get(addr, "/metrics", "").await;
    assert_eq!(refused.status, 401);
    assert!(
        refused.body.contains("metrics_token_required"),
        "{}",
        refused.body
    );
    assert_eq!(
        refused.header("www-authenticate"),
        Some("Bearer realm=\"metrics\"")
    );
    assert!(
        !refused.body.contains("classroom_"),
        "nothing leaks with the refusal"
    );
    let wrong = get(
        addr,
        "/metrics",
        "Authorization: Bearer metrics-token-0123456780\r\n",
    )
    .await;
    assert_eq!(wrong.status, 401);

    let read = get(
        addr,
        "/metrics",
        &format!("Authorization: Bearer {TOKEN}\r\n"),
    )
    .await;
    assert_eq!(read.status, 200);
    assert!(
        read.body.contains("classroom_participants 0"),
        "{}",
        read.body
    );
    assert!(read.body.contains("classroom_log_suppressed_total"));
    // The class pages stay open to everyone.
    assert_eq!(get(addr, "/healthz", "").await.status, 200);
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_served_beside_the_class() {
    let mut config = test_config();
    config.metrics.bind = Some("127.0.0.1:0".parse().expect("addr"));
    let server = start(config).await;
    let metrics = server.metrics_addr.expect("metrics listener");
    assert_ne!(metrics, server.http_addr);

    let beside = get(server.http_addr, "/metrics", "").await;
    assert_eq!(beside.status, 404);
    assert!(!beside.body.contains("classroom_"));
    let own = get(metrics, "/metrics", "").await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("classroom_classes 0"));
    // Only metrics there: no pages, no WebSocket, no class creation.
    assert_eq!(get(metrics, "/", "").await.status, 404);
    assert_eq!(get(metrics, "/ws", "").await.status, 404);
    server.shutdown().await.expect("stops");
}

#[tokio::test]
async fn short_or_doubled_metrics_tokens_are_refused_at_start() {
    for (text, needle) in [
        ("[metrics]\ntoken = \"short\"", "at least 16"),
        (
            "[metrics]\ntoken = \"0123456789abcdef\"\ntoken_file = \"/t\"",
            "not both",
        ),
    ] {
        let config: signaling::Config = toml::from_str(text).expect("parses");
        let err = config.metrics.validate().expect_err(text);
        assert!(err.contains(needle), "{err}");
    }
    let dir = common::tls::temp_dir("metrics-short");
    std::fs::write(dir.join("t"), "short\n").expect("write");
    let mut config = test_config();
    config.metrics.token_file = Some(dir.join("t"));
    let err = Server::start(config.clone())
        .await
        .expect_err("short token file");
    assert!(err.to_string().contains("at least 16"), "{err}");
    config.metrics.token_file = Some(dir.join("missing"));
    let err = Server::start(config).await.expect_err("missing token file");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn class_pages_may_be_framed_only_by_allowed_origins() {
    let mut config = test_config();
    let server = start(config.clone()).await;
    for path in ["/", "/class/abc", "/js/app.js", "/healthz"] {
        let page = get(server.http_addr, path, "").await;
        let csp = page.header("content-security-policy").expect("csp");
        assert!(csp.ends_with("frame-ancestors 'self'"), "{path}: {csp}");
        assert_eq!(
            page.header("strict-transport-security"),
            None,
            "no HSTS over plain HTTP"
        );
    }
    server.shutdown().await.expect("stops");

    config.allowed_origins = vec![
        "https://moodle.example.org/".into(),
        "https://elea.example.fr".into(),
    ];
    let server = start(config).await;
    let page = get(server.http_addr, "/class/abc", "").await;
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.ends_with("frame-ancestors 'self' https://moodle.example.org https://elea.example.fr"),
        "{csp}"
    );
    server.shutdown().await.expect("stops");
}
