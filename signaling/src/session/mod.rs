//! One WebSocket session: a participant's signalling from `join` to `leave`.
//!
//! Everything the client sends is untrusted: each frame is parsed and checked, and a bad one gets
//! an `error` (and a close where going on makes no sense), never a panic.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use sfu::{Command, MediaEvent, Rejection, TrackSource};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use crate::check::{Checks, ProbeEvent};
use crate::limits::connections::ConnectionSlot;
use crate::limits::outbox::{outbox, Outbox, OutboxReceiver};
use crate::limits::{RateLimiter, Verdict, FLOOD_CLOSE_CODE, JOIN_DEADLINE_CLOSE_CODE};
use crate::media_link::Media;
use crate::offer_check::OfferGate;
use crate::protocol::{
    parse_client_message, ByeReason, ClientMessage, ErrorCode, PauseReason, ProtocolError, Role,
    ServerMessage, Source, TrackKind, PROTOCOL_VERSION,
};
use crate::rooms::{media_down, Entered, Newcomer, Resumption};
use crate::server::{stopping, AppState};

mod live;
mod translate;
mod writer;

pub use live::{LiveSession, LiveSessions};
use translate::{action_of, rejection_error, source_name, track_source};
use writer::{linger, write_out, Close, WriterEnd};

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
    let (checks, probe_rx) = Checks::new(state.clone(), peer);
    let mut session = Session {
        checks,
        limiter: state.config.limits.rate_limiter(Instant::now()),
        offers: OfferGate::new(&state.config, Instant::now()),
        state: state.clone(),
        out: out_tx,
        media_tx,
        entered: None,
        peer,
    };
    let close = session.pump(socket, out_rx, media_rx, probe_rx).await;
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
    /// The network self-test's probes this connection holds (freed with it).
    checks: Checks,
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
        mut probe_rx: UnboundedReceiver<ProbeEvent>,
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
                Some((probe, event)) = probe_rx.recv() => {
                    if let Some(why) = self.checks.on_event(probe, event, &self.out) {
                        if let Some(close) = self.error(rejection_error(why)) {
                            break Some(close);
                        }
                    }
                }
                () = probe_deadline(self.checks.next_deadline()) => {
                    self.checks.expire(Instant::now(), &self.out);
                }
                () = &mut join_deadline, if self.entered.is_none() => {
                    // A connection running the network self-test needs no class: it may stay
                    // until its last probe ends (probes per connection bound how long).
                    if let Some(until) = self.checks.busy_until() {
                        // A moment after it, so that its `check_result` goes out first.
                        join_deadline.as_mut().reset((until + Duration::from_secs(1)).into());
                        continue;
                    }
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
            ClientMessage::IceServers => self.ice_servers(),
            ClientMessage::Check { transport } => {
                match self.checks.start(transport, &self.out, Instant::now()) {
                    Ok(()) => None,
                    Err(e) => self.error(e),
                }
            }
            ClientMessage::CheckOffer { probe, sdp } => self.check_offer(probe, &sdp),
            ClientMessage::Answer { sdp } => {
                let Some(entered) = &self.entered else {
                    return self.not_joined();
                };
                // A guest still in the lobby costs no SDP work.
                let Some(role) = entered.room.role(entered.id) else {
                    return self.error(waiting_in_the_lobby());
                };
                let answer = match self.offers.answer(&self.state.config, Some(role), &sdp) {
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
            Ok(entered) => {
                let kept = entered.link.media() != Media::None;
                let id = entered.id;
                if let Some(close) = self.enter(entered, "resumed") {
                    return Some(close);
                }
                // The client forgets what was paused for it when it resumes; the shard says it
                // again (nothing was sent to it while it was away).
                if kept {
                    return self.send_to_shard(Command::RepeatPauses { participant: id });
                }
                None
            }
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
        // A guest still in the lobby costs no SDP work, nor any of its offer allowance.
        let Some(role) = entered.room.role(entered.id) else {
            return self.error(waiting_in_the_lobby());
        };
        let config = &self.state.config;
        let offer = match self
            .offers
            .offer(config, Some(role), &sdp, &sources, Instant::now())
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

    /// Fresh relay credentials, for members only: a guest in the lobby or a connection that has
    /// not joined has no media connection to relay.
    fn ice_servers(&self) -> Option<Close> {
        let Some(entered) = &self.entered else {
            return self.not_joined();
        };
        if !entered.room.is_member(entered.id) {
            return self.error(waiting_in_the_lobby());
        }
        let relays = self.state.rooms.ice_servers(entered.id, SystemTime::now());
        let _ = self.out.send(ServerMessage::IceServers(relays));
        None
    }

    /// A network self-test probe's offer: receive-only (checked as an observer's), then to a shard.
    fn check_offer(&mut self, probe: u32, sdp: &str) -> Option<Close> {
        if let Err(e) = self.checks.awaiting_offer(probe) {
            return self.error(e);
        }
        let config = &self.state.config;
        let offer = match self
            .offers
            .offer(config, Some(Role::Observer), sdp, &[], Instant::now())
        {
            Ok(offer) => offer,
            Err(e) => return self.error(e),
        };
        match self.checks.offer(probe, offer) {
            Ok(()) => None,
            Err(e) => self.error(e),
        }
    }

    fn send_to_shard(&self, command: Command) -> Option<Close> {
        let Some(entered) = &self.entered else {
            return None;
        };
        if !entered.room.is_member(entered.id) {
            return self.error(waiting_in_the_lobby());
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
                source: source_name(source),
            },
            MediaEvent::TrackRemoved { mid } => ServerMessage::TrackRemoved { mid },
            MediaEvent::ActiveSpeaker { participant } => ServerMessage::ActiveSpeaker {
                participant: participant.to_string(),
            },
            MediaEvent::VideoPaused {
                publisher,
                source,
                reason,
            } => ServerMessage::VideoPaused {
                participant: publisher.to_string(),
                source: source_name(source),
                reason: match reason {
                    sfu::PauseReason::Bandwidth => PauseReason::Bandwidth,
                    sfu::PauseReason::LastN => PauseReason::LastN,
                },
            },
            MediaEvent::VideoResumed { publisher, source } => ServerMessage::VideoResumed {
                participant: publisher.to_string(),
                source: source_name(source),
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
        rejection_error(why)
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

/// Resolves at `deadline`; never when there is none.
async fn probe_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The refusal of media negotiation to a guest the teacher has not let in yet.
fn waiting_in_the_lobby() -> ProtocolError {
    ProtocolError::new(ErrorCode::NotJoined, "wait for a teacher to let you in")
}
