//! The control plane as a client sees it: `POST /api/rooms`, `GET /metrics`, and the WebSocket
//! JSON protocol of docs/PROTOCOL.md (only the messages a synthetic participant needs).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A class's capability tokens.
#[derive(Debug, Clone)]
pub struct ClassLinks {
    pub room: String,
    pub teacher_token: String,
    pub pupil_token: String,
}

/// The server's HTTP address (always loopback: see `cli::loopback_addr`).
#[derive(Debug, Clone)]
pub struct ServerAddr {
    pub http: SocketAddr,
    pub admin_key: Option<String>,
}

impl ServerAddr {
    /// Creates a class.
    pub async fn create_class(&self) -> anyhow::Result<ClassLinks> {
        let auth = self
            .admin_key
            .as_ref()
            .map(|k| format!("Authorization: Bearer {k}\r\n"))
            .unwrap_or_default();
        let (status, body) = self.request("POST", "/api/rooms", &auth).await?;
        if status != 201 {
            bail!("POST /api/rooms answered {status}: {}", body.trim());
        }
        #[derive(Deserialize)]
        struct Created {
            room: String,
            teacher_url: String,
            pupil_url: String,
        }
        let created: Created =
            serde_json::from_str(&body).context("POST /api/rooms: unexpected body")?;
        let token = |url: &str| -> anyhow::Result<String> {
            let query = url.split_once('?').map_or("", |(_, q)| q);
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("no token in {url}"))
        };
        Ok(ClassLinks {
            teacher_token: token(&created.teacher_url)?,
            pupil_token: token(&created.pupil_url)?,
            room: created.room,
        })
    }

    /// The server's `/metrics` page (Prometheus text).
    pub async fn metrics_page(&self) -> anyhow::Result<String> {
        let (status, body) = self.request("GET", "/metrics", "").await?;
        if status != 200 {
            bail!("GET /metrics answered {status}");
        }
        Ok(body)
    }

    /// A minimal HTTP/1.1 exchange (`Connection: close`, body read to the end): (status, body).
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &str,
    ) -> anyhow::Result<(u16, String)> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.http).await?;
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n",
                self.http
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
        };
        let response = tokio::time::timeout(HTTP_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                anyhow!(
                    "{method} {path}: no answer from {} within {HTTP_TIMEOUT:?}",
                    self.http
                )
            })?
            .with_context(|| format!("{method} {path} to {}", self.http))?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("{method} {path}: not an HTTP answer"))?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}

/// Client → server.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage<'a> {
    Join {
        version: u32,
        room: &'a str,
        token: &'a str,
        name: &'a str,
    },
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    Leave {},
}

/// A participant as the server describes it (only the id matters here).
#[derive(Debug, Deserialize)]
pub struct Participant {
    pub id: String,
}

/// Server → client (what a synthetic participant acts on; the rest is `Other`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        you: Participant,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    TrackAdded {
        mid: String,
        participant: String,
        kind: String,
    },
    Error {
        code: String,
        message: String,
    },
    Bye {
        reason: String,
    },
    #[serde(other)]
    Other,
}

/// One participant's WebSocket.
#[derive(Debug)]
pub struct Signalling {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Signalling {
    pub async fn connect(server: &ServerAddr) -> anyhow::Result<Signalling> {
        let url = format!("ws://{}/ws", server.http);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .context("WebSocket connect")?;
        Ok(Signalling { ws })
    }

    pub async fn send(&mut self, message: &ClientMessage<'_>) -> anyhow::Result<()> {
        let text = serde_json::to_string(message)?;
        self.ws
            .send(Message::Text(text.into()))
            .await
            .context("WebSocket send")
    }

    /// The next protocol message; `Ok(None)` when the server closed the socket. Cancel-safe.
    pub async fn recv(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .map(Some)
                        .with_context(|| format!("server sent unexpected JSON: {text}"));
                }
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("WebSocket receive"),
            }
        }
    }

    /// Sends `leave` and waits (briefly) for `bye`, then closes.
    pub async fn leave(mut self, wait: Duration) {
        if self.send(&ClientMessage::Leave {}).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(wait, async {
            while let Ok(Some(message)) = self.recv().await {
                if matches!(message, ServerMessage::Bye { .. }) {
                    break;
                }
            }
        })
        .await;
        let _ = tokio::time::timeout(wait, self.ws.close(None)).await;
    }
}
