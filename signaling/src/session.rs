//! One WebSocket session: a participant's signalling from `join` to `leave`.
//!
//! Everything the client sends is untrusted: each frame is parsed and checked, and a bad one gets
//! an `error` (and a close where going on makes no sense), never a panic.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use sfu::{Command, MediaEvent, Rejection, TrackSource};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch};

use crate::class::Action;
use crate::limits::connections::ConnectionSlot;
use crate::limits::outbox::{outbox, Outbox, OutboxReceiver};
use crate::limits::{
    RateLimiter, Verdict, FLOOD_CLOSE_CODE, JOIN_DEADLINE_CLOSE_CODE, TOO_SLOW_CLOSE_CODE,
};
use crate::media_link::Media;
use crate::offer_check::OfferGate;
use crate::protocol::{
    parse_client_message, ByeReason, ClientMessage, ErrorCode, ProtocolError, ServerMessage,
    SettingsPatch, Source, TrackKind, PROTOCOL_VERSION,
};
use crate::rooms::{media_down, Entered, Newcomer, Resumption};
use crate::server::{stopping, AppState};

/// How long a closing session waits for the client's close reply.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// Longest mid in an offer's `sources`, and most entries: a browser has a handful of m-lines.
const MAX_SOURCES: usize = 16;
const MAX_MID_CHARS: usize = 32;
/// Longest `device` id a client may send.
const MAX_DEVICE_CHARS: usize = 64;

/// Runs the session until the client leaves, the socket drops, or the server shuts down.
/// `_slot` keeps the connection counted against its address while the session lives; `peer` is
/// the TCP peer's address (for limits per address; never logged).
pub async fn run(
    socket: WebSocket,
    state: Arc<AppState>,
    _live: LiveSession,
    _slot: Option<ConnectionSlot>,
    peer: IpAddr,
) {
    let (out_tx, out_rx) = outbox(
        state.config.limits.outbox_messages,
        state.limit_counters.clone(),
    );
    // Unbounded, but drained by the pump at once (its loop never waits on the socket): what
    // the shard says becomes outbox messages, which are bounded.
    let (media_tx, media_rx) = unbounded_channel();
    let mut session = Session {
        limiter: state.config.limits.rate_limiter(Instant::now()),
        offers: OfferGate::new(&state.config, Instant::now()),
        state: state.clone(),
        out: out_tx,
        media_tx,
        entered: None,
        peer,
    };
    let close = session.pump(socket, out_rx, media_rx).await;
    // A client too slow to read is as good as dropped: it may resume.
    session.finish(close.as_ref().is_some_and(|c| !c.resumable));
    tracing::debug!(?close, "session ended");
}

struct Session {
    state: Arc<AppState>,
    out: Outbox,
    media_tx: UnboundedSender<MediaEvent>,
    entered: Option<Entered>,
    /// Messages per second from this client.
    limiter: RateLimiter,
    /// Offers a minute, and the checks on each SDP before a shard sees it.
    offers: OfferGate,
    /// Where the connection comes from: counted, never logged.
    peer: IpAddr,
}

/// Counts the node's running sessions, so shutdown can wait for their goodbyes.
#[derive(Debug, Default)]
pub struct LiveSessions(watch::Sender<usize>);

impl LiveSessions {
    /// One more session; it counts until the returned guard is dropped.
    pub fn enter(&self) -> LiveSession {
        self.0.send_modify(|n| *n += 1);
        LiveSession(self.0.clone())
    }

    pub fn count(&self) -> usize {
        *self.0.borrow()
    }

    /// True once no session runs; false if some still do after `within`.
    pub async fn all_ended_within(&self, within: std::time::Duration) -> bool {
        let mut count = self.0.subscribe();
        let none_left = async { drop(count.wait_for(|n| *n == 0).await) };
        tokio::time::timeout(within, none_left).await.is_ok()
    }
}

/// One running session, counted in [`LiveSessions`] while it lives.
#[derive(Debug)]
pub struct LiveSession(watch::Sender<usize>);

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// How a session ends, from our side.
#[derive(Debug, Clone, Copy)]
struct Close {
    code: u16,
    reason: &'static str,
    /// The member stays in the class for the grace period and may resume (the connection is
    /// treated as dropped), instead of leaving now.
    resumable: bool,
}

impl Close {
    const fn new(code: u16, reason: &'static str) -> Close {
        Close {
            code,
            reason,
            resumable: false,
        }
    }

    const BYE: Close = Close::new(1000, "bye");

    const TOO_SLOW: Close = Close {
        code: TOO_SLOW_CLOSE_CODE,
        reason: "too slow to read",
        resumable: true,
    };
}

/// Why the writer stopped before the session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriterEnd {
    /// The socket broke.
    Broken,
    /// The socket took nothing for the send timeout.
    Stalled,
    /// The outbox overflowed; the close (4009) has been written, if the socket took it.
    Overflowed,
    /// Wrote everything and the close the session asked for.
    Closed,
    /// Wrote a `bye` (the class ended this session: kicked, denied, class over, replaced) and
    /// the close after it.
    Bye,
}

impl Session {
    /// Reads the client's frames and the shard's events until the session ends. Writing is a
    /// future of its own (`write_out`), so a client that does not read never stalls this loop:
    /// its outbox fills and overflows instead, and the rest of the class is not held up.
    async fn pump(
        &mut self,
        socket: WebSocket,
        out_rx: OutboxReceiver,
        mut media_rx: UnboundedReceiver<MediaEvent>,
    ) -> Option<Close> {
        let (sink, mut stream) = socket.split();
        let limits = &self.state.config.limits;
        let send_timeout = limits.send_timeout();
        let (closing_tx, closing_rx) = oneshot::channel();
        let writer = write_out(sink, out_rx, closing_rx, send_timeout);
        tokio::pin!(writer);
        let join_deadline = tokio::time::sleep(limits.join_deadline());
        tokio::pin!(join_deadline);
        let mut shutdown = self.state.shutdown.clone();
        let mut writer_end = None;
        let close = loop {
            tokio::select! {
                frame = stream.next() => {
                    // Pings and pongs cost us a reply or a wake-up like any message: counted too.
                    if matches!(frame, Some(Ok(ref m)) if !matches!(m, Message::Close(_))) {
                        match self.rate_limit() {
                            Ok(()) => {}
                            Err(None) => continue,
                            Err(close) => break close,
                        }
                    }
                    let close = match frame {
                        None | Some(Ok(Message::Close(_))) => break None,
                        Some(Err(e)) => match self.on_socket_error(&e) {
                            // The connection broke under us: as good as dropped (resumable).
                            None => break None,
                            close => close,
                        },
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
                end = &mut writer, if writer_end.is_none() => {
                    writer_end = Some(end);
                    match end {
                        WriterEnd::Broken | WriterEnd::Closed => break None,
                        WriterEnd::Stalled => {
                            self.state.limit_counters.closed_send_stalled.add();
                            break Some(Close::TOO_SLOW);
                        }
                        WriterEnd::Overflowed => break Some(Close::TOO_SLOW),
                        WriterEnd::Bye => break Some(Close::BYE),
                    }
                }
                Some(event) = media_rx.recv() => {
                    if let Some(close) = self.on_media_event(event) {
                        break Some(close);
                    }
                }
                () = &mut join_deadline, if self.entered.is_none() => {
                    self.state.limit_counters.closed_join_deadline.add();
                    break Some(Close::new(JOIN_DEADLINE_CLOSE_CODE, "no join in time"));
                }
                () = stopping(&mut shutdown) => {
                    let _ = self.out.send(ServerMessage::Bye { reason: ByeReason::ShuttingDown });
                    break Some(Close::new(1001, "server shutting down"));
                }
            }
        };
        if writer_end.is_none() {
            if let Some(close) = close {
                // What was queued before the close (the error saying why) goes out first, then
                // the close frame; all of it within the send timeout.
                let _ = closing_tx.send(close);
                if let Ok(end) = tokio::time::timeout(send_timeout, &mut writer).await {
                    writer_end = Some(end);
                }
            }
        }
        if matches!(
            writer_end,
            Some(WriterEnd::Closed | WriterEnd::Overflowed | WriterEnd::Bye)
        ) {
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
                device,
            } => self.join(version, &room, &token, &name, device),
            ClientMessage::Resume {
                version,
                room,
                token,
                last_chat_seq,
                restart_media,
            } => self.resume(version, &room, &token, last_chat_seq, restart_media),
            ClientMessage::Ping => {
                let _ = self.out.send(ServerMessage::Pong);
                None
            }
            ClientMessage::Leave => {
                // Out of the class before `bye`: once the client has it, nobody counts it in.
                self.finish(true);
                let _ = self.out.send(ServerMessage::Bye {
                    reason: ByeReason::Left,
                });
                Some(Close::new(1000, "left"))
            }
            ClientMessage::Offer { sdp, sources } => self.offer(sdp, sources),
            ClientMessage::Answer { sdp } => {
                let Some(entered) = &self.entered else {
                    return self.not_joined();
                };
                let role = entered.room.role(entered.id);
                let answer = match self.offers.answer(&self.state.config, role, &sdp) {
                    Ok(answer) => answer,
                    Err(e) => return self.error(e),
                };
                let command = Command::Answer {
                    participant: entered.id,
                    answer,
                };
                self.send_to_shard(command)
            }
            other => {
                // Every message left here is a class action (the others were matched above).
                let action = action_of(other)?;
                let Some(entered) = &self.entered else {
                    return self.not_joined();
                };
                let result =
                    entered
                        .room
                        .act(entered.id, action, &self.state.media, Instant::now());
                match result {
                    Ok(true) => {
                        // The class ended: nobody can join it any more. Its `bye` is queued.
                        self.state.rooms.forget(&entered.room.id);
                        None
                    }
                    Ok(false) => None,
                    Err(e) => self.error(e),
                }
            }
        }
    }

    fn not_joined(&self) -> Option<Close> {
        self.error(ProtocolError::new(
            ErrorCode::NotJoined,
            "send \"join\" first",
        ))
    }

    fn check_entry(&self, version: u32) -> Result<(), ProtocolError> {
        if self.entered.is_some() {
            return Err(ProtocolError::new(
                ErrorCode::AlreadyJoined,
                "this connection has already joined",
            ));
        }
        if version != PROTOCOL_VERSION {
            return Err(ProtocolError::new(
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}; reload the page"),
            ));
        }
        Ok(())
    }

    fn join(
        &mut self,
        version: u32,
        room: &str,
        token: &str,
        name: &str,
        device: Option<String>,
    ) -> Option<Close> {
        if let Err(e) = self.check_entry(version) {
            return self.error(e);
        }
        if device
            .as_ref()
            .is_some_and(|d| d.is_empty() || d.chars().count() > MAX_DEVICE_CHARS)
        {
            return self.error(ProtocolError::new(
                ErrorCode::BadMessage,
                format!("a device id is 1 to {MAX_DEVICE_CHARS} characters"),
            ));
        }
        let now = Instant::now();
        let rooms = &self.state.rooms;
        let entered = rooms
            .grant(room, token, name, now)
            .and_then(|(room, grant, name)| {
                let newcomer = Newcomer {
                    grant,
                    name,
                    device,
                    from: Some(self.peer),
                };
                rooms.join(room, newcomer, self.out.clone(), &self.state.media, now)
            });
        match entered {
            Ok(entered) => self.enter(entered, "joined a class"),
            Err(e) => self.error(e),
        }
    }

    fn resume(
        &mut self,
        version: u32,
        room: &str,
        token: &str,
        last_chat_seq: u64,
        restart_media: bool,
    ) -> Option<Close> {
        if let Err(e) = self.check_entry(version) {
            return self.error(e);
        }
        let entered = self.state.rooms.resume(
            room,
            token,
            Resumption {
                last_chat_seq,
                restart_media,
            },
            self.out.clone(),
            &self.state.media,
            Instant::now(),
        );
        match entered {
            Ok(entered) => self.enter(entered, "resumed"),
            Err(e) => self.error(e),
        }
    }

    fn enter(&mut self, entered: Entered, what: &'static str) -> Option<Close> {
        entered.link.attach(self.media_tx.clone());
        tracing::info!(participant = %entered.id, entry = ?entered.entry, "{what}");
        self.entered = Some(entered);
        None
    }

    fn offer(&mut self, sdp: String, sources: BTreeMap<String, Source>) -> Option<Close> {
        let Some(entered) = &self.entered else {
            return self.not_joined();
        };
        if sources.len() > MAX_SOURCES || sources.keys().any(|m| m.chars().count() > MAX_MID_CHARS)
        {
            return self.error(ProtocolError::new(
                ErrorCode::BadMessage,
                format!("\"sources\" names at most {MAX_SOURCES} mids of up to {MAX_MID_CHARS} characters"),
            ));
        }
        let sources: Vec<(String, TrackSource)> = sources
            .into_iter()
            .map(|(mid, source)| (mid, track_source(source)))
            .collect();
        let role = entered.room.role(entered.id);
        let config = &self.state.config;
        let offer = match self
            .offers
            .offer(config, role, &sdp, &sources, Instant::now())
        {
            Ok(offer) => offer,
            Err(e) => return self.error(e),
        };
        let id = entered.id;
        if entered.link.media() != Media::None {
            return self.send_to_shard(Command::Offer {
                participant: id,
                offer,
                sources,
            });
        }
        let join = Command::Join {
            room: entered.room.key,
            participant: id,
            offer,
            sources,
        };
        match entered
            .room
            .start_media(id, join, &entered.link, &self.state.media)
        {
            Ok(()) => None,
            Err(e) => self.error(e),
        }
    }

    fn send_to_shard(&self, command: Command) -> Option<Close> {
        let Some(entered) = &self.entered else {
            return None;
        };
        if !entered.room.is_member(entered.id) {
            return self.error(ProtocolError::new(
                ErrorCode::NotJoined,
                "wait for a teacher to let you in",
            ));
        }
        let sent = self
            .state
            .media
            .shard(entered.room.shard)
            .map(|shard| shard.send(command, None));
        match sent {
            Some(Ok(())) => None,
            _ => self.error(media_down()),
        }
    }

    fn on_media_event(&mut self, event: MediaEvent) -> Option<Close> {
        let message = match event {
            MediaEvent::Answer { sdp } => ServerMessage::Answer { sdp },
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
                source: match source {
                    TrackSource::Mic => Source::Mic,
                    TrackSource::Camera => Source::Camera,
                    TrackSource::Screen => Source::Screen,
                },
            },
            MediaEvent::TrackRemoved { mid } => ServerMessage::TrackRemoved { mid },
            MediaEvent::ActiveSpeaker { participant } => ServerMessage::ActiveSpeaker {
                participant: participant.to_string(),
            },
            MediaEvent::Connected => return None,
            MediaEvent::Rejected(why) => {
                let error = self.rejection(why);
                return self.error(error);
            }
            MediaEvent::Gone => {
                let _ = self.out.send(ServerMessage::Bye {
                    reason: ByeReason::MediaFailed,
                });
                return Some(Close::new(1000, "media connection lost"));
            }
        };
        let _ = self.out.send(message);
        None
    }

    fn rejection(&mut self, why: Rejection) -> ProtocolError {
        let offer_refused = matches!(
            why,
            Rejection::BadSdp(_) | Rejection::NoUsableCodec | Rejection::NoServerAddress
        );
        if let Some(entered) = &self.entered {
            if offer_refused && entered.link.media() == Media::Starting {
                // The shard refused the first offer and holds no session: the next offer must
                // start one again.
                entered.link.set_media(Media::None);
            }
        }
        match why {
            Rejection::BadSdp(problem) => {
                ProtocolError::new(ErrorCode::BadSdp, format!("the SDP was refused: {problem}"))
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
            Rejection::NoServerAddress => ProtocolError::new(
                ErrorCode::ServerError,
                "the media server has no usable address; tell the administrator",
            ),
        }
    }

    /// Counts one message against the client's rate: `Ok` to handle it, `Err(None)` to drop it
    /// (the client is told), `Err(Some(close))` to end a session that keeps flooding.
    fn rate_limit(&mut self) -> Result<(), Option<Close>> {
        let verdict = self.limiter.check(Instant::now());
        if verdict == Verdict::Allow {
            return Ok(());
        }
        let closing = verdict == Verdict::Close;
        self.error(self.state.config.limits.rate_limited(closing));
        Err(closing.then_some(Close::new(FLOOD_CLOSE_CODE, "too many messages")))
    }

    /// Queues the error for the client; returns the close to do, if the code calls for one.
    fn error(&self, error: ProtocolError) -> Option<Close> {
        tracing::debug!(code = ?error.code, "client error");
        let _ = self.out.send(error.to_message());
        error
            .code
            .close_code()
            .map(|code| Close::new(code, "protocol error"))
    }

    /// The close to do for a socket error, or `None` when the connection is simply broken.
    fn on_socket_error(&self, error: &axum::Error) -> Option<Close> {
        let text = error.to_string();
        if text.contains("too long") || text.contains("Space limit") {
            return self.error(ProtocolError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "a message is at most {} bytes",
                    self.state.config.limits.max_message_bytes
                ),
            ));
        }
        tracing::debug!(error = %text, "socket error");
        None
    }

    /// The session is over. If the client dropped the socket (`by_us` false) the participant is
    /// kept for the grace period and may resume; otherwise it leaves the class now. Either way
    /// the sweeper is woken: it ends this member's grace at its own deadline, and frees the
    /// class if nobody is left in it (see `Rooms::sweep`).
    fn finish(&mut self, by_us: bool) {
        let Some(entered) = self.entered.take() else {
            return;
        };
        let media = &self.state.media;
        let now = Instant::now();
        if by_us {
            entered
                .room
                .leave(entered.id, entered.generation, media, now);
            tracing::info!(participant = %entered.id, "left a class");
        } else {
            entered
                .room
                .disconnect(entered.id, entered.generation, media, now);
            tracing::info!(participant = %entered.id, "connection dropped; may resume");
        }
        self.state.rooms.want_sweep();
    }
}

/// The class action a client message asks for; `None` for messages handled elsewhere. Which of
/// them only a teacher may ask is decided here, by type, and checked once by `Class::act`.
fn action_of(message: ClientMessage) -> Option<Action> {
    use crate::class::{MemberAction as M, TeacherAction as T};
    let settings = |patch| Some(T::SetSettings(patch).into());
    match message {
        ClientMessage::MediaState {
            audio,
            video,
            screen,
        } => Some(
            M::MediaState {
                audio,
                video,
                screen,
            }
            .into(),
        ),
        ClientMessage::RaiseHand => Some(M::RaiseHand.into()),
        ClientMessage::LowerHand { participant: None } => Some(M::LowerOwnHand.into()),
        ClientMessage::Chat { text } => Some(M::Chat(text).into()),
        ClientMessage::VideoQuality {
            participant,
            quality,
        } => Some(M::VideoQuality(participant, quality).into()),
        ClientMessage::LowerHand {
            participant: Some(participant),
        } => Some(T::LowerHand(participant).into()),
        ClientMessage::LowerAllHands => Some(T::LowerAllHands.into()),
        ClientMessage::Mute { participant } => Some(T::Mute(participant).into()),
        ClientMessage::MuteAll => Some(T::MuteAll.into()),
        ClientMessage::CameraOff { participant } => Some(T::CameraOff(participant).into()),
        ClientMessage::StopScreen { participant } => Some(T::StopScreen(participant).into()),
        ClientMessage::Kick { participant, bar } => Some(T::Kick { participant, bar }.into()),
        ClientMessage::Lock { locked } => settings(SettingsPatch {
            locked: Some(locked),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetGuestPolicy { policy } => settings(SettingsPatch {
            guest_policy: Some(policy),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetChat { enabled } => settings(SettingsPatch {
            chat: Some(enabled),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetSettings { settings: patch } => settings(patch),
        ClientMessage::Admit { participant } => Some(T::Admit(participant).into()),
        ClientMessage::Deny { participant } => Some(T::Deny(participant).into()),
        ClientMessage::Promote { participant } => Some(T::Promote(participant).into()),
        ClientMessage::Demote { participant } => Some(T::Demote(participant).into()),
        ClientMessage::GiveFloor { participant } => Some(T::GiveFloor(participant).into()),
        ClientMessage::TakeFloor { participant } => Some(T::TakeFloor(participant).into()),
        ClientMessage::SetRights {
            participant,
            rights,
        } => Some(T::SetRights(participant, rights).into()),
        ClientMessage::EndClass => Some(T::EndClass.into()),
        ClientMessage::Join { .. }
        | ClientMessage::Resume { .. }
        | ClientMessage::Offer { .. }
        | ClientMessage::Answer { .. }
        | ClientMessage::Leave
        | ClientMessage::Ping => None,
    }
}

fn track_source(source: Source) -> TrackSource {
    match source {
        Source::Mic => TrackSource::Mic,
        Source::Camera => TrackSource::Camera,
        Source::Screen => TrackSource::Screen,
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

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Writes the outbox to the socket until the session closes (then what is still queued, and the
/// close frame) or the outbox overflows (then the close 4009). Each frame must be taken by the
/// socket within `send_timeout`, or the writer gives up (`Stalled`).
async fn write_out(
    mut sink: Sink,
    mut out_rx: OutboxReceiver,
    mut closing: oneshot::Receiver<Close>,
    send_timeout: std::time::Duration,
) -> WriterEnd {
    let close = loop {
        let next = tokio::select! {
            biased;
            next = out_rx.recv() => next,
            close = &mut closing => match close {
                Ok(close) => break close,
                // The session is gone without a word: nothing more to write.
                Err(_) => return WriterEnd::Broken,
            },
        };
        let Ok(message) = next else {
            break Close::TOO_SLOW;
        };
        let bye = matches!(message, ServerMessage::Bye { .. });
        // A client that stopped reading holds this send; if its outbox overflows meanwhile, the
        // close is queued behind what the socket already has, for the client to read last.
        let overflowed = tokio::select! {
            sent = send(&mut sink, text_frame(&message), send_timeout) => match sent {
                Ok(()) => false,
                Err(end) => return end,
            },
            () = out_rx.overflowed() => true,
        };
        if overflowed {
            break Close::TOO_SLOW;
        }
        if bye {
            // The session's own goodbyes (leave, shutdown) come with the close it chose, set
            // before this future ran again (both run in one task); the class's come alone.
            break closing.try_recv().unwrap_or(Close::BYE);
        }
    };
    let end = if close.code == TOO_SLOW_CLOSE_CODE {
        WriterEnd::Overflowed
    } else if close.reason == Close::BYE.reason {
        WriterEnd::Bye
    } else {
        while let Some(message) = out_rx.try_recv() {
            if let Err(end) = send(&mut sink, text_frame(&message), send_timeout).await {
                return end;
            }
        }
        WriterEnd::Closed
    };
    let frame = CloseFrame {
        code: close.code,
        reason: Utf8Bytes::from_static(close.reason),
    };
    match send(&mut sink, Message::Close(Some(frame)), send_timeout).await {
        Ok(()) => end,
        Err(failed) => failed,
    }
}

/// Writes one frame, within `send_timeout`.
async fn send(
    sink: &mut Sink,
    message: Message,
    send_timeout: std::time::Duration,
) -> Result<(), WriterEnd> {
    match tokio::time::timeout(send_timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(WriterEnd::Broken),
        Err(_) => Err(WriterEnd::Stalled),
    }
}

fn text_frame(message: &ServerMessage) -> Message {
    // Serializing our own enum of strings, numbers and maps cannot fail; an empty object would
    // be caught by the client's parser if it ever did.
    let text = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    Message::Text(text.into())
}
