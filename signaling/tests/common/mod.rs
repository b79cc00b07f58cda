//! Shared by the signalling tests: a real server on ephemeral ports, a WebSocket client, and
//! (in `peer.rs`) a str0m peer that does real ICE/DTLS/SRTP over UDP loopback.

#![allow(dead_code)] // each test file uses a different part

pub mod binary;
pub mod jwt;
pub mod metrics;
pub mod peer;
pub mod tls;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use signaling::{Config, Server};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// The embedded default, but on ports the OS picks so tests can run side by side.
pub fn test_config() -> Config {
    let mut config = Config {
        http: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    };
    config.media.udp_port_base = 0;
    // Media on loopback only: tests keep off the machine's network.
    config.media.bind_ip = std::net::Ipv4Addr::LOCALHOST.into();
    config.media.public_ip = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    config.media.shards = 2;
    config
}

pub async fn start(config: Config) -> Server {
    Server::start(config).await.expect("server starts")
}

/// The links of a new class.
#[derive(Debug, Clone)]
pub struct Class {
    pub room: String,
    pub teacher_token: String,
    pub pupil_token: String,
    pub observer_token: String,
}

pub async fn create_class(server: &Server) -> Class {
    let body = http_post(server, "/api/rooms", None).await;
    assert_eq!(body.0, 201, "class created: {}", body.1);
    let value: Value = serde_json::from_str(&body.1).expect("json");
    let token = |url: &str| url.split("token=").nth(1).expect("token in url").to_owned();
    Class {
        room: value["room"].as_str().expect("room").to_owned(),
        teacher_token: token(value["teacher_url"].as_str().expect("teacher_url")),
        pupil_token: token(value["pupil_url"].as_str().expect("pupil_url")),
        observer_token: token(value["observer_url"].as_str().expect("observer_url")),
    }
}

/// A minimal HTTP/1.1 POST over a TCP stream: (status, body).
pub async fn http_post(server: &Server, path: &str, bearer: Option<&str>) -> (u16, String) {
    http(server, "POST", path, bearer).await
}

/// A minimal HTTP/1.1 GET: (status, body).
#[allow(dead_code)] // Each test binary uses part of this module.
pub async fn http_get(server: &Server, path: &str) -> (u16, String) {
    http(server, "GET", path, None).await
}

async fn http(server: &Server, method: &str, path: &str, bearer: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(server.http_addr).await.expect("connect");
    let auth = bearer
        .map(|b| format!("Authorization: Bearer {b}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n",
        server.http_addr
    );
    exchange(&mut stream, &request).await
}

/// A TCP connection to `addr` from the local address `from`: every 127.0.0.x is loopback, so one
/// test can stand for several machines.
pub async fn tcp_from(addr: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = match from {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .expect("tcp socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind the client address");
    socket.connect(addr).await.expect("connect")
}

/// Sends `request` (which asks `Connection: close`) and reads the whole answer: (status, body).
pub async fn exchange(stream: &mut TcpStream, request: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// One HTTP/1.1 GET of `path` from the local address `from`, on a new connection.
pub async fn http_get_from(addr: SocketAddr, from: IpAddr, path: &str) -> (u16, String) {
    let mut stream = tcp_from(addr, from).await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange(&mut stream, &request).await
}

/// A signalling client speaking JSON over a real WebSocket.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next.
#[derive(Debug)]
pub enum Next {
    Message(Value),
    Closed(Option<u16>),
}

impl Client {
    pub async fn connect(server: &Server) -> Client {
        let url = format!("ws://{}/ws", server.http_addr);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("ws connects");
        Client { ws }
    }

    /// Connects from the local address `ip` (a loopback address other than 127.0.0.1 lets a test
    /// tell this client apart, e.g. to look for its address in the logs).
    pub async fn connect_bound(server: &Server, ip: IpAddr) -> Client {
        let stream = tcp_from(server.http_addr, ip).await;
        let url = format!("ws://{}/ws", server.http_addr);
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .expect("ws handshake");
        Client { ws }
    }

    /// Connects as a browser on page `origin` would: `Err((status, body))` when refused.
    pub async fn connect_from(server: &Server, origin: &str) -> Result<Client, (u16, String)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let mut request = format!("ws://{}/ws", server.http_addr)
            .into_client_request()
            .expect("request");
        request.headers_mut().insert(
            "Origin",
            HeaderValue::from_str(origin).expect("origin header"),
        );
        match tokio_tungstenite::connect_async_with_config(request, None, true).await {
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

    /// Sends `join` for `room` and returns what came back first (welcome or error).
    pub async fn try_join(&mut self, room: &str, token: &str, name: &str) -> Value {
        self.send(json!({
            "type": "join", "version": 1, "room": room, "token": token, "name": name
        }))
        .await;
        self.message().await
    }

    pub async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        let _ = self.ws.send(message).await;
    }

    /// The next JSON message or the close, whichever comes; fails the test after [`WAIT`].
    pub async fn next(&mut self) -> Next {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("server said something in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Next::Message(serde_json::from_str(&text).expect("server sends JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Next::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    eprintln!("websocket error: {e}");
                    return Next::Closed(None);
                }
                None => return Next::Closed(None),
            }
        }
    }

    /// The next message, which must be JSON (not a close).
    pub async fn message(&mut self) -> Value {
        match self.next().await {
            Next::Message(v) => v,
            Next::Closed(code) => panic!("expected a message, the server closed ({code:?})"),
        }
    }

    /// Skips messages until one of type `kind` arrives.
    pub async fn expect_type(&mut self, kind: &str) -> Value {
        loop {
            let message = self.message().await;
            if message["type"] == kind {
                return message;
            }
        }
    }

    /// The next message must be an error with `code`.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let message = self.message().await;
        assert_eq!(
            message["type"], "error",
            "expected error {code}, got {message}"
        );
        assert_eq!(message["code"], code, "got {message}");
        assert!(
            message["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error explains itself: {message}"
        );
        message
    }

    /// The server must close with `code` next.
    pub async fn expect_close(&mut self, code: u16) {
        match self.next().await {
            Next::Closed(got) => assert_eq!(got, Some(code), "close code"),
            Next::Message(m) => panic!("expected close {code}, got {m}"),
        }
    }

    pub async fn join(&mut self, class: &Class, token: &str, name: &str) -> Value {
        self.send(json!({
            "type": "join", "version": 1, "room": class.room, "token": token, "name": name
        }))
        .await;
        let welcome = self.message().await;
        assert_eq!(welcome["type"], "welcome", "joined: {welcome}");
        welcome
    }

    /// Connects and joins; returns the client, its id and its welcome.
    pub async fn joined(
        server: &Server,
        class: &Class,
        token: &str,
        name: &str,
    ) -> (Client, String, Value) {
        let mut client = Client::connect(server).await;
        let welcome = client.join(class, token, name).await;
        let id = welcome["you"]["id"].as_str().expect("id").to_owned();
        (client, id, welcome)
    }

    /// Sends a `ping` and returns every message that came before the `pong`: what the server
    /// had queued for this client by then.
    pub async fn drain(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping"})).await;
        let mut got = Vec::new();
        loop {
            let message = self.message().await;
            if message["type"] == "pong" {
                return got;
            }
            got.push(message);
        }
    }

    /// Sends `value` and expects the error `code` as the next error (other messages queued
    /// before it are skipped).
    pub async fn refused(&mut self, value: Value, code: &str) {
        self.send(value).await;
        let error = self.expect_type("error").await;
        assert_eq!(error["code"], code, "got {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error explains itself: {error}"
        );
    }

    pub fn close_code(code: CloseCode) -> u16 {
        u16::from(code)
    }
}
