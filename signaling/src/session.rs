//! One WebSocket session: a participant's signalling from `join` to `leave`.
//!
//! Everything the client sends is untrusted: each frame is parsed and checked, and a bad one gets
//! an `error` (and a close where going on makes no sense), never a panic.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use sfu::{Command, MediaEvent, ParticipantId, Rejection};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::names::validate_name;
use crate::protocol::{
    parse_client_message, ByeReason, ClientMessage, ErrorCode, ProtocolError, ServerMessage,
    TrackKind, TrackSource, PROTOCOL_VERSION,
};
use crate::rooms::Room;
use crate::server::AppState;

/// Largest frame a client may send.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// How long a closing session waits for the client's close reply.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the session until the client leaves, the socket drops, or the server shuts down.
pub async fn run(socket: WebSocket, state: Arc<AppState>) {
    let (out_tx, out_rx) = unbounded_channel();
    let (media_tx, media_rx) = unbounded_channel();
    let mut session = Session {
        state: state.clone(),
        out: out_tx,
        media_tx,
        joined: None,
    };
    let close = session.pump(socket, out_rx, media_rx).await;
    session.leave();
    tracing::debug!(?close, "session ended");
}

struct Session {
    state: Arc<AppState>,
    out: UnboundedSender<ServerMessage>,
    media_tx: UnboundedSender<MediaEvent>,
    joined: Option<Joined>,
}

struct Joined {
    room: Arc<Room>,
    id: ParticipantId,
    media: Media,
    /// What the client said its m-lines carry (from `join`, replaced by each `offer` that says).
    sources: Vec<(String, sfu::TrackSource)>,
}

/// A client's source declaration as the media plane takes it.
fn media_sources(sources: BTreeMap<String, TrackSource>) -> Vec<(String, sfu::TrackSource)> {
    sources
        .into_iter()
        .map(|(mid, s)| (mid, s.into()))
        .collect()
}

/// Whether the shard holds a media session for this participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// No offer sent yet (or the first one was refused).
    None,
    /// The first offer went to the shard; no answer yet.
    Starting,
    /// The shard answered: the session exists.
    Live,
}

/// How a session ends, from our side.
#[derive(Debug)]
struct Close {
    code: u16,
    reason: &'static str,
}

impl Session {
    async fn pump(
        &mut self,
        socket: WebSocket,
        mut out_rx: UnboundedReceiver<ServerMessage>,
        mut media_rx: UnboundedReceiver<MediaEvent>,
    ) -> Option<Close> {
        let (mut sink, mut stream) = socket.split();
        let mut shutdown = self.state.shutdown.clone();
        let close = loop {
            tokio::select! {
                frame = stream.next() => {
                    let close = match frame {
                        None | Some(Ok(Message::Close(_))) => break None,
                        Some(Err(e)) => self.on_socket_error(&e),
                        Some(Ok(Message::Text(text))) => self.on_text(text.as_str()),
                        Some(Ok(Message::Binary(_))) => self.error(ProtocolError::new(
                            ErrorCode::BinaryNotSupported,
                            "this protocol uses JSON text frames only",
                        )),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    };
                    if close.is_some() {
                        break close;
                    }
                }
                Some(message) = out_rx.recv() => {
                    if send(&mut sink, &message).await.is_err() {
                        break None;
                    }
                }
                Some(event) = media_rx.recv() => {
                    if let Some(close) = self.on_media_event(event) {
                        break Some(close);
                    }
                }
                _ = shutdown.changed() => {
                    let _ = self.out.send(ServerMessage::Bye { reason: ByeReason::ShuttingDown });
                    break Some(Close { code: 1001, reason: "server shutting down" });
                }
            }
        };
        if let Some(close) = &close {
            // What was queued before the close (the error saying why) goes out first.
            while let Ok(message) = out_rx.try_recv() {
                if send(&mut sink, &message).await.is_err() {
                    return Some(Close { ..*close });
                }
            }
            let frame = CloseFrame {
                code: close.code,
                reason: Utf8Bytes::from_static(close.reason),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
            linger(&mut stream).await;
        }
        close
    }

    fn on_text(&mut self, text: &str) -> Option<Close> {
        let message = match parse_client_message(text) {
            Ok(message) => message,
            Err(e) => return self.error(e),
        };
        match message {
            ClientMessage::Join {
                version,
                room,
                token,
                name,
                sources,
            } => self.join(version, &room, &token, &name, sources),
            ClientMessage::Ping => {
                let _ = self.out.send(ServerMessage::Pong);
                None
            }
            ClientMessage::Leave => {
                // Out of the class before `bye`: once the client has it, nobody counts it in.
                self.leave();
                let _ = self.out.send(ServerMessage::Bye {
                    reason: ByeReason::Left,
                });
                Some(Close {
                    code: 1000,
                    reason: "left",
                })
            }
            other => {
                let Some(joined) = &mut self.joined else {
                    return self.error(ProtocolError::new(
                        ErrorCode::NotJoined,
                        "send \"join\" first",
                    ));
                };
                match other {
                    ClientMessage::Offer { sdp, sources } => {
                        if let Some(sources) = sources {
                            joined.sources = media_sources(sources);
                        }
                        let sources = joined.sources.clone();
                        let command = if joined.media == Media::None {
                            joined.media = Media::Starting;
                            Command::Join {
                                room: joined.room.key,
                                participant: joined.id,
                                offer: sdp,
                                sources,
                            }
                        } else {
                            Command::Offer {
                                participant: joined.id,
                                sdp,
                                sources,
                            }
                        };
                        self.send_to_shard(command)
                    }
                    ClientMessage::Answer { sdp } => {
                        let command = Command::Answer {
                            participant: joined.id,
                            sdp,
                        };
                        self.send_to_shard(command)
                    }
                    ClientMessage::MediaState { audio, video } => {
                        joined.room.update_media_state(joined.id, audio, video);
                        None
                    }
                    ClientMessage::Join { .. } | ClientMessage::Leave | ClientMessage::Ping => None,
                }
            }
        }
    }

    fn join(
        &mut self,
        version: u32,
        room: &str,
        token: &str,
        name: &str,
        sources: BTreeMap<String, TrackSource>,
    ) -> Option<Close> {
        if self.joined.is_some() {
            return self.error(ProtocolError::new(
                ErrorCode::AlreadyJoined,
                "this connection has already joined",
            ));
        }
        if version != PROTOCOL_VERSION {
            return self.error(ProtocolError::new(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}; reload the page"),
            ));
        }
        let name = match validate_name(name) {
            Ok(name) => name,
            Err(why) => return self.error(ProtocolError::new(ErrorCode::BadName, why)),
        };
        let admission =
            match self
                .state
                .rooms
                .admit(room, token, name, self.out.clone(), Instant::now())
            {
                Ok(admission) => admission,
                Err(e) => return self.error(e),
            };
        tracing::info!(participant = %admission.id, role = ?admission.you.role, "joined a class");
        self.joined = Some(Joined {
            room: admission.room,
            id: admission.id,
            media: Media::None,
            sources: media_sources(sources),
        });
        None
    }

    fn send_to_shard(&mut self, command: Command) -> Option<Close> {
        let Some(joined) = &self.joined else {
            return None;
        };
        let sink = match command {
            Command::Join { .. } => {
                let tx = self.media_tx.clone();
                Some(Box::new(move |event| {
                    let _ = tx.send(event);
                }) as sfu::EventSink)
            }
            _ => None,
        };
        let sent = self
            .state
            .media
            .shard(joined.room.shard)
            .map(|shard| shard.send(command, sink));
        match sent {
            Some(Ok(())) => None,
            _ => self.error(ProtocolError::new(
                ErrorCode::ServerError,
                "the media server is not running; try again later",
            )),
        }
    }

    fn on_media_event(&mut self, event: MediaEvent) -> Option<Close> {
        let message = match event {
            MediaEvent::Answer { sdp } => {
                if let Some(joined) = &mut self.joined {
                    joined.media = Media::Live;
                }
                ServerMessage::Answer { sdp }
            }
            MediaEvent::Offer { sdp } => ServerMessage::Offer { sdp },
            MediaEvent::TrackAdded {
                mid,
                publisher,
                kind,
                source,
            } => ServerMessage::TrackAdded {
                mid,
                participant: publisher.to_string(),
                kind: match kind {
                    sfu::TrackKind::Audio => TrackKind::Audio,
                    sfu::TrackKind::Video => TrackKind::Video,
                },
                source: source.into(),
            },
            MediaEvent::TrackRemoved { mid } => ServerMessage::TrackRemoved { mid },
            MediaEvent::Connected => return None,
            // Not on the wire yet: the signalling rework decides how the client hears of it.
            MediaEvent::ActiveSpeaker { .. } => return None,
            MediaEvent::Rejected(why) => {
                let error = self.rejection(why);
                return self.error(error);
            }
            MediaEvent::Gone => {
                if let Some(joined) = &mut self.joined {
                    joined.media = Media::None;
                }
                let _ = self.out.send(ServerMessage::Bye {
                    reason: ByeReason::MediaFailed,
                });
                return Some(Close {
                    code: 1000,
                    reason: "media connection lost",
                });
            }
        };
        let _ = self.out.send(message);
        None
    }

    fn rejection(&mut self, why: Rejection) -> ProtocolError {
        let offer_refused = matches!(why, Rejection::BadSdp(_) | Rejection::NoUsableCodec);
        if let Some(joined) = &mut self.joined {
            if offer_refused && joined.media == Media::Starting {
                // The shard refused the first offer and holds no session: the next offer must
                // start one again.
                joined.media = Media::None;
            }
        }
        match why {
            Rejection::BadSdp(detail) => {
                ProtocolError::new(ErrorCode::BadSdp, format!("the SDP was refused: {detail}"))
            }
            Rejection::NoUsableCodec => ProtocolError::new(
                ErrorCode::NoUsableCodec,
                "the offer has no codec this server speaks (Opus for audio; VP8 or H.264 for video)",
            ),
            Rejection::RenegotiationBusy => ProtocolError::new(
                ErrorCode::RenegotiationBusy,
                "answer the server's offer first, then send yours again",
            ),
            Rejection::UnexpectedAnswer => ProtocolError::new(
                ErrorCode::UnexpectedAnswer,
                "there is no offer from the server to answer",
            ),
            Rejection::NotJoined => ProtocolError::new(
                ErrorCode::BadSdp,
                "no media session yet: send your offer again",
            ),
            Rejection::AlreadyJoined => ProtocolError::new(
                ErrorCode::AlreadyJoined,
                "this participant already has a media session",
            ),
        }
    }

    /// Queues the error for the client; returns the close to do, if the code calls for one.
    fn error(&self, error: ProtocolError) -> Option<Close> {
        tracing::debug!(code = ?error.code, "client error");
        let _ = self.out.send(error.to_message());
        error.code.close_code().map(|code| Close {
            code,
            reason: "protocol error",
        })
    }

    fn on_socket_error(&self, error: &axum::Error) -> Option<Close> {
        let text = error.to_string();
        if text.contains("too long") || text.contains("Space limit") {
            return self.error(ProtocolError::new(
                ErrorCode::MessageTooLarge,
                format!("a message is at most {MAX_MESSAGE_BYTES} bytes"),
            ));
        }
        tracing::debug!(error = %text, "socket error");
        Some(Close {
            code: 1002,
            reason: "protocol error",
        })
    }

    fn leave(&mut self) {
        let Some(joined) = self.joined.take() else {
            return;
        };
        joined.room.leave(joined.id);
        if joined.media != Media::None {
            if let Some(shard) = self.state.media.shard(joined.room.shard) {
                let _ = shard.send(
                    Command::Leave {
                        participant: joined.id,
                    },
                    None,
                );
            }
        }
        tracing::info!(participant = %joined.id, "left a class");
    }
}

/// After we sent a close, waits (briefly) for the client's close reply. Dropping a socket that
/// still has unread input makes the kernel reset the connection, and a reset can overtake the
/// error and close frame we just sent.
async fn linger(stream: &mut futures_util::stream::SplitStream<WebSocket>) {
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Err(_) => return,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => {
                // The stream cannot read on (e.g. after an oversized frame): give the client a
                // moment to read what we sent before the reset.
                let soon = tokio::time::Instant::now() + LINGER / 4;
                tokio::time::sleep_until(soon.min(deadline)).await;
                return;
            }
        }
    }
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: &ServerMessage,
) -> Result<(), ()> {
    let text = serde_json::to_string(message).map_err(|_| ())?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}
