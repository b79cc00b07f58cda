//! The Janus API as a client sees it over the WebSocket transport (subprotocol `janus-protocol`):
//! a session, handles attached to the VideoRoom plugin, and the messages that come back.
//!
//! Every request carries a transaction. Session requests (`create`, `attach`) and synchronous
//! plugin requests (the VideoRoom `create`) are answered by `success` or `error`; asynchronous
//! plugin requests (`join`, `joinandconfigure`, `subscribe`, `start`) by an `ack` now and an
//! `event` later. News about a handle's PeerConnection (`webrtcup`, `media`, `hangup`, …) come
//! unasked.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a synchronous request may take before the participant gives up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A message from Janus (the envelope; plugin payloads are in [`PluginData`]).
#[derive(Debug, Deserialize)]
#[serde(tag = "janus", rename_all = "lowercase")]
pub enum Incoming {
    Success {
        transaction: Option<String>,
        data: Option<Created>,
        plugindata: Option<PluginData>,
    },
    Error {
        transaction: Option<String>,
        error: ApiError,
    },
    Ack {},
    Event {
        sender: u64,
        plugindata: Option<PluginData>,
        jsep: Option<Jsep>,
    },
    /// A PeerConnection of the session is up (ICE and DTLS done).
    Webrtcup {},
    Hangup {
        sender: u64,
        reason: Option<String>,
    },
    /// The session expired (no keepalive for `session_timeout`).
    Timeout {},
    /// `media`, `slowlink`, `detached`, `trickle`, …: nothing the load test acts on.
    #[serde(other)]
    Other,
}

/// `data` of a `success` for `create` or `attach`: the new session's or handle's id.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: u64,
}

#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub code: i64,
    pub reason: String,
}

/// An SDP offer or answer.
#[derive(Debug, Deserialize)]
pub struct Jsep {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
}

#[derive(Debug, Deserialize)]
pub struct PluginData {
    pub data: Room,
}

/// What the VideoRoom plugin says (only what a synthetic participant acts on; the rest is `Other`).
#[derive(Debug, Deserialize)]
#[serde(tag = "videoroom", rename_all = "lowercase")]
pub enum Room {
    Created {
        room: u64,
    },
    /// Our publisher handle is in the room (`id`), with these publishers already active.
    Joined {
        id: u64,
        #[serde(default)]
        publishers: Vec<Feed>,
    },
    /// Our subscription exists; an offer comes with it.
    Attached {
        #[serde(default)]
        streams: Vec<Subscribed>,
    },
    /// The subscription changed; an offer may come with it.
    Updated {
        #[serde(default)]
        streams: Vec<Subscribed>,
    },
    Event {
        #[serde(default)]
        publishers: Vec<Feed>,
        error_code: Option<i64>,
        error: Option<String>,
    },
    #[serde(other)]
    Other,
}

/// A publisher active in the room.
#[derive(Debug, Deserialize)]
pub struct Feed {
    pub id: u64,
    #[serde(default)]
    pub streams: Vec<FeedStream>,
}

#[derive(Debug, Deserialize)]
pub struct FeedStream {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub disabled: bool,
}

/// One m-line of our subscription and the publisher feeding it.
#[derive(Debug, Deserialize)]
pub struct Subscribed {
    pub mid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub feed_id: Option<u64>,
}

/// One Janus session over its own WebSocket (a browser tab would have one).
#[derive(Debug)]
pub struct Session {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Janus's id for the session.
    pub id: u64,
    transactions: u64,
}

impl Session {
    /// Connects and creates the session.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Session> {
        let mut request = format!("ws://{addr}/").into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("WebSocket connect to Janus at {addr}"))?;
        let mut session = Session {
            ws,
            id: 0,
            transactions: 0,
        };
        session.id = session.call(json!({"janus": "create"})).await?.id()?;
        Ok(session)
    }

    /// Attaches a VideoRoom handle; returns its id.
    pub async fn attach(&mut self) -> anyhow::Result<u64> {
        self.call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?
            .id()
    }

    /// A synchronous VideoRoom request on `handle`; returns the plugin's answer.
    pub async fn plugin_call(&mut self, handle: u64, body: Value) -> anyhow::Result<Room> {
        let answer = self
            .call(json!({"janus": "message", "handle_id": handle, "body": body}))
            .await?;
        match answer {
            Answer::Plugin(room) => Ok(room),
            Answer::Id(_) => bail!("Janus answered a VideoRoom request without plugin data"),
        }
    }

    /// An asynchronous VideoRoom request on `handle`, with an SDP if given; its outcome comes
    /// later as an [`Incoming::Event`].
    pub async fn message(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<(&str, String)>,
    ) -> anyhow::Result<()> {
        let mut request = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some((kind, sdp)) = jsep {
            // All our candidates are in the SDP: Janus is not to wait for trickled ones. Our
            // simulcast rids go lowest quality first (as for the classroom server); Janus assumes
            // highest first unless told.
            request["jsep"] =
                json!({"type": kind, "sdp": sdp, "trickle": false, "rid_order": "lmh"});
        }
        self.send(request).await
    }

    /// Keeps the session from expiring (Janus drops it after `session_timeout`, 60 s).
    pub async fn keepalive(&mut self) -> anyhow::Result<()> {
        self.send(json!({"janus": "keepalive"})).await
    }

    /// The next message; `Ok(None)` when Janus closed the socket. Cancel-safe.
    pub async fn recv(&mut self) -> anyhow::Result<Option<Incoming>> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .map(Some)
                        .with_context(|| format!("Janus sent unexpected JSON: {text}"));
                }
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("WebSocket receive from Janus"),
            }
        }
    }

    /// Destroys the session (Janus hangs up its PeerConnections and detaches its handles), waits
    /// briefly for the answer, and closes the socket.
    pub async fn close(mut self, wait: Duration) {
        if self.send(json!({"janus": "destroy"})).await.is_ok() {
            let _ = tokio::time::timeout(wait, async {
                while let Ok(Some(message)) = self.recv().await {
                    if matches!(message, Incoming::Success { .. } | Incoming::Error { .. }) {
                        break;
                    }
                }
            })
            .await;
        }
        let _ = tokio::time::timeout(wait, self.ws.close(None)).await;
    }

    async fn send(&mut self, mut request: Value) -> anyhow::Result<()> {
        self.transactions += 1;
        request["transaction"] = json!(self.transactions.to_string());
        if self.id != 0 {
            request["session_id"] = json!(self.id);
        }
        self.ws
            .send(Message::Text(request.to_string().into()))
            .await
            .context("WebSocket send to Janus")
    }

    /// Sends a request and waits for its `success` (anything else arriving meanwhile is dropped:
    /// only used before the session has handles with PeerConnections).
    async fn call(&mut self, request: Value) -> anyhow::Result<Answer> {
        let what = request["janus"].as_str().unwrap_or("request").to_owned();
        self.send(request).await?;
        let transaction = self.transactions.to_string();
        let wait = async {
            loop {
                match self.recv().await? {
                    Some(Incoming::Success {
                        transaction: Some(t),
                        data,
                        plugindata,
                    }) if t == transaction => {
                        return match (data, plugindata) {
                            (_, Some(plugin)) => Ok(Answer::Plugin(plugin.data)),
                            (Some(created), None) => Ok(Answer::Id(created.id)),
                            (None, None) => Err(anyhow!("Janus answered `{what}` with no data")),
                        };
                    }
                    Some(Incoming::Error {
                        transaction: Some(t),
                        error,
                    }) if t == transaction => {
                        bail!("Janus refused `{what}`: {} {}", error.code, error.reason)
                    }
                    Some(_) => continue,
                    None => bail!("Janus closed the WebSocket while answering `{what}`"),
                }
            }
        };
        tokio::time::timeout(ANSWER_TIMEOUT, wait)
            .await
            .map_err(|_| anyhow!("Janus did not answer `{what}` within {ANSWER_TIMEOUT:?}"))?
    }
}

/// A `success`: a new id, or a plugin's answer.
enum Answer {
    Id(u64),
    Plugin(Room),
}

impl Answer {
    fn id(self) -> anyhow::Result<u64> {
        match self {
            Answer::Id(id) => Ok(id),
            Answer::Plugin(_) => bail!("Janus answered with plugin data where an id was expected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Incoming {
        serde_json::from_str(text).expect("parses")
    }

    #[test]
    fn session_answers_parse() {
        let created = parse(r#"{"janus":"success","transaction":"1","data":{"id":4242}}"#);
        assert!(matches!(
            created,
            Incoming::Success {
                data: Some(Created { id: 4242 }),
                ..
            }
        ));
        let refused = parse(
            r#"{"janus":"error","transaction":"2","error":{"code":458,"reason":"No such session"}}"#,
        );
        assert!(matches!(
            refused,
            Incoming::Error {
                error: ApiError { code: 458, .. },
                ..
            }
        ));
        assert!(matches!(
            parse(r#"{"janus":"ack","session_id":1,"transaction":"3"}"#),
            Incoming::Ack {}
        ));
        assert!(matches!(
            parse(r#"{"janus":"media","session_id":1,"sender":2,"type":"audio","receiving":true}"#),
            Incoming::Other
        ));
    }

    #[test]
    fn videoroom_events_parse() {
        let joined = parse(
            r#"{"janus":"event","session_id":1,"sender":7,"transaction":"4",
                "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined",
                "room":99,"description":"x","id":555,"private_id":1,"publishers":[{"id":321,
                "display":"Teacher 0","streams":[{"type":"audio","mindex":0,"mid":"0","codec":"opus"},
                {"type":"video","mindex":1,"mid":"1","codec":"vp8"}]}]}},
                "jsep":{"type":"answer","sdp":"v=0\r\n"}}"#,
        );
        let Incoming::Event {
            sender: 7,
            plugindata: Some(data),
            jsep: Some(jsep),
        } = joined
        else {
            panic!("not a joined event: {joined:?}");
        };
        assert_eq!(jsep.kind, "answer");
        let Room::Joined {
            id: 555,
            publishers,
        } = data.data
        else {
            panic!("not joined");
        };
        assert_eq!(publishers[0].id, 321);
        assert_eq!(publishers[0].streams.len(), 2);
        let attached = parse(
            r#"{"janus":"event","sender":8,"plugindata":{"plugin":"janus.plugin.videoroom",
                "data":{"videoroom":"attached","room":99,"streams":[{"type":"video","mindex":0,
                "mid":"0","feed_id":321,"feed_mid":"1"},{"type":"data","mindex":1,"mid":"1"}]}},
                "jsep":{"type":"offer","sdp":"v=0\r\n"}}"#,
        );
        let Incoming::Event {
            plugindata: Some(data),
            ..
        } = attached
        else {
            panic!("not an event");
        };
        let Room::Attached { streams } = data.data else {
            panic!("not attached");
        };
        assert_eq!(streams[0].feed_id, Some(321));
        assert_eq!(streams[1].feed_id, None);
        let error = parse(
            r#"{"janus":"event","sender":8,"plugindata":{"plugin":"janus.plugin.videoroom",
                "data":{"videoroom":"event","error_code":426,"error":"No such room (5)"}}}"#,
        );
        let Incoming::Event {
            plugindata: Some(data),
            ..
        } = error
        else {
            panic!("not an event");
        };
        assert!(matches!(
            data.data,
            Room::Event {
                error_code: Some(426),
                ..
            }
        ));
        let hangup = parse(r#"{"janus":"hangup","session_id":1,"sender":8,"reason":"DTLS alert"}"#);
        assert!(matches!(hangup, Incoming::Hangup { sender: 8, .. }));
    }
}
