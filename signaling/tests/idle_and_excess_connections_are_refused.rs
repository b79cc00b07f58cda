//! Connections cannot be held for free: a WebSocket that never joins is closed (4010), a slowloris
//! and a silent or idle HTTP connection are cut off at the header timeout, one address gets at
//! most `max_connections_per_address` (another address still gets in), past `max_connections`
//! the node still answers `/healthz`, and WebSocket pings count against the message rate.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{http_get_from, tcp_from, Client, Next, WAIT};
use serde_json::json;
use signaling::limits::{FLOOD_CLOSE_CODE, JOIN_DEADLINE_CLOSE_CODE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const OTHER_ADDRESS: [u8; 4] = [127, 0, 0, 2];

/// Opens a WebSocket from `from`: `Err(status, body)` when the server refuses the handshake.
async fn ws_from(server: &signaling::Server, from: [u8; 4]) -> Result<Client, (u16, String)> {
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(
        tcp_from(server.http_addr, IpAddr::from(from)).await,
    );
    let url = format!("ws://{}/ws", server.http_addr);
    match tokio_tungstenite::client_async(url, stream).await {
        Ok((ws, _)) => Ok(Client { ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            Err((
                response.status().as_u16(),
                String::from_utf8_lossy(body).into_owned(),
            ))
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// One HTTP/1.1 GET from `from` on a new connection: (status, body).
async fn get_from(server: &signaling::Server, from: [u8; 4], path: &str) -> (u16, String) {
    http_get_from(server.http_addr, IpAddr::from(from), path).await
}

/// Waits until the server closes `stream` (EOF or reset), reading and discarding what it sends.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("the server closed the connection in time")
        {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_socket_that_never_joins_is_closed_at_the_join_deadline() {
    let mut config = common::test_config();
    config.limits.join_deadline_secs = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut idle = Client::connect(&server).await;
    let mut joined = Client::connect(&server).await;
    joined.join(&class, &class.pupil_token, "Pupil").await;
    // A refused join does not stop the clock.
    let mut refused = Client::connect(&server).await;
    refused
        .refused(
            json!({"type": "join", "version": 1, "room": class.room,
                   "token": class.pupil_token, "name": ""}),
            "bad_name",
        )
        .await;
    idle.expect_close(JOIN_DEADLINE_CLOSE_CODE).await;
    refused.expect_close(JOIN_DEADLINE_CLOSE_CODE).await;
    // Whoever joined in time stays.
    tokio::time::sleep(Duration::from_millis(500)).await;
    joined.send(json!({"type": "ping"})).await;
    joined.expect_type("pong").await;
    let (_, metrics) = common::http_get(&server, "/metrics").await;
    assert!(
        metrics.contains("classroom_sessions_closed_total{reason=\"join_deadline\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn slowloris_silent_and_idle_connections_are_cut_off_at_the_header_timeout() {
    let mut config = common::test_config();
    config.limits.http_header_timeout_secs = 1;
    let server = common::start(config).await;

    // Headers a byte at a time, never finished.
    let mut slowloris = TcpStream::connect(server.http_addr).await.expect("connect");
    slowloris
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let dripping = async {
        for byte in b"X-Slow: ".iter().cycle().take(200) {
            if slowloris.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    // The server closes it long before the 20 s of dripping are over.
    let cut_off = dripping.await || {
        closed_by_server(&mut slowloris).await;
        true
    };
    assert!(cut_off);

    // A connection that never says anything.
    let mut silent = TcpStream::connect(server.http_addr).await.expect("connect");
    closed_by_server(&mut silent).await;

    // A kept-alive connection, idle after its request.
    let mut idle = TcpStream::connect(server.http_addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 256];
    let n = idle.read(&mut first).await.expect("response");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    closed_by_server(&mut idle).await;

    // The node serves on.
    assert_eq!(common::http_get(&server, "/healthz").await.0, 200);
}

#[tokio::test]
async fn one_address_gets_its_share_of_connections_and_another_still_gets_in() {
    const CAP: usize = 5;
    let mut config = common::test_config();
    config.limits.max_connections_per_address = CAP;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;

    // Joined WebSockets count for as long as they live, not only during the handshake.
    let mut held = Vec::new();
    for i in 0..CAP {
        let mut client = ws_from(&server, [127, 0, 0, 1])
            .await
            .expect("under the cap");
        client
            .join(&class, &class.pupil_token, &format!("Tab {i}"))
            .await;
        held.push(client);
    }
    let (status, body) = ws_from(&server, [127, 0, 0, 1])
        .await
        .err()
        .expect("refused over the cap");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too_many_connections"), "{body}");
    let (status, body) = get_from(&server, [127, 0, 0, 1], "/").await;
    assert_eq!(status, 429, "{body}");
    // Monitoring from the same address still sees the node alive.
    assert_eq!(
        get_from(&server, [127, 0, 0, 1], "/healthz").await,
        (200, "ok".to_owned())
    );

    // Another address is not affected.
    let mut other = ws_from(&server, OTHER_ADDRESS)
        .await
        .expect("another address gets in");
    other.join(&class, &class.pupil_token, "Other").await;

    // One tab closed: its place is free again.
    let mut leaving = held.pop().expect("a tab");
    leaving.send(json!({"type": "leave"})).await;
    assert!(matches!(
        leaving.next().await,
        Next::Message(_) | Next::Closed(_)
    ));
    drop(leaving);
    let mut back = None;
    for _ in 0..100 {
        if let Ok(client) = ws_from(&server, [127, 0, 0, 1]).await {
            back = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut back = back.expect("a place was freed");
    back.join(&class, &class.pupil_token, "Tab again").await;
    let (_, metrics) = get_from(&server, OTHER_ADDRESS, "/metrics").await;
    assert!(
        !metrics.contains("classroom_connections_refused_total{reason=\"per_address\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn past_the_node_cap_healthz_still_answers_and_the_rest_is_refused() {
    const CAP: usize = 8;
    let mut config = common::test_config();
    config.limits.max_connections = CAP;
    let server = common::start(config).await;

    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(TcpStream::connect(server.http_addr).await.expect("connect"));
    }
    // The accept loop counts them as it accepts them: wait for the node to be full.
    let mut full = false;
    for _ in 0..100 {
        if get_from(&server, OTHER_ADDRESS, "/").await.0 == 503 {
            full = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(full, "the node refuses past max_connections");
    for from in [[127, 0, 0, 1], OTHER_ADDRESS] {
        assert_eq!(
            get_from(&server, from, "/healthz").await,
            (200, "ok".to_owned())
        );
        let (status, body) = get_from(&server, from, "/api/rooms").await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("server_full"), "{body}");
    }
    let (status, _) = ws_from(&server, OTHER_ADDRESS)
        .await
        .err()
        .expect("no WebSocket past the cap");
    assert_eq!(status, 503);

    drop(held);
    let mut served = false;
    for _ in 0..100 {
        if get_from(&server, OTHER_ADDRESS, "/").await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "closed connections free their places");
}

#[tokio::test]
async fn websocket_pings_count_against_the_message_rate() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut pinger = Client::connect(&server).await;
    pinger.join(&class, &class.pupil_token, "Pinger").await;
    for _ in 0..400 {
        pinger.send_raw(Message::Ping(vec![1, 2, 3].into())).await;
    }
    let mut limited = 0;
    let code = loop {
        match pinger.next().await {
            Next::Message(m) if m["code"] == "rate_limited" => limited += 1,
            Next::Message(m) => panic!("unexpected {m}"),
            Next::Closed(code) => break code,
        }
    };
    assert!(limited >= 1, "told to slow down first");
    assert_eq!(code, Some(FLOOD_CLOSE_CODE));
}
