//! One synthetic participant: a str0m `Rtc` (real ICE, DTLS and SRTP over a UDP loopback socket of
//! its own) plus its WebSocket. It joins, offers what it publishes, answers the server's offers,
//! sends camera and mic frames on schedule, and records what it receives.
//!
//! Many peers share one runtime: each is a task waiting on its socket, its WebSocket and one timer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use crate::measure::{self, nanos_at, Kind, PeerStats, TrackIn, Window};
use crate::media::{OpusLoop, VideoShape, Vp8Source};
use crate::signalling::{ClientMessage, ServerAddr, ServerMessage, Signalling};

mod publish;
use publish::Publisher;

/// Datagrams handled in a row before the task looks at its WebSocket and timer again.
const RECV_BATCH: usize = 64;
/// Due timeouts handled back to back before the task waits on its socket again.
const MAX_DUE_IN_A_ROW: u32 = 4;

/// Who this peer is and what it does.
#[derive(Debug, Clone)]
pub struct PeerPlan {
    pub class: usize,
    pub name: String,
    pub room: String,
    pub token: String,
    pub publish_audio: bool,
    pub publish_video: bool,
    pub join_at: Instant,
}

/// What every peer of a run shares.
#[derive(Debug)]
pub struct RunContext {
    pub server: ServerAddr,
    pub opus: Arc<OpusLoop>,
    pub filler: Arc<[u8]>,
    pub video: VideoShape,
    pub window: Window,
    /// When peers stop sending and leave.
    pub end: Instant,
}

/// Runs one participant from its join time to the end of the run; never fails, records instead.
pub async fn run(plan: PeerPlan, ctx: Arc<RunContext>) -> PeerStats {
    let mut stats = PeerStats::new(plan.class, plan.publish_video);
    tokio::time::sleep_until(plan.join_at.into()).await;
    let join_started = Instant::now();
    stats.join_started = join_started;
    let joined = tokio::time::timeout_at(ctx.end.into(), Peer::join(&plan, &ctx)).await;
    let mut peer = match joined {
        Ok(Ok(peer)) => peer,
        Ok(Err(e)) => {
            stats.errors.push(format!("join failed: {e:#}"));
            return stats;
        }
        Err(_) => {
            stats
                .errors
                .push("join not finished by the end of the run".into());
            return stats;
        }
    };
    peer.stats.join_started = join_started;
    if let Err(e) = peer.drive(&ctx).await {
        peer.stats.errors.push(format!("{e:#}"));
    }
    let Peer {
        mut stats,
        signalling,
        connected,
        publisher,
        ..
    } = peer;
    stats.connected = connected;
    stats.sent = publisher.sent;
    if !connected {
        stats.errors.push("ICE/DTLS never connected".into());
    }
    signalling.leave(Duration::from_millis(500)).await;
    stats
}

struct Peer {
    signalling: Signalling,
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    publisher: Publisher,
    /// Incoming m-line → index in `stats.tracks`.
    incoming: HashMap<Mid, usize>,
    connected: bool,
    stats: PeerStats,
}

impl Peer {
    async fn join(plan: &PeerPlan, ctx: &RunContext) -> anyhow::Result<Peer> {
        let mut signalling = Signalling::connect(&ctx.server).await?;
        signalling
            .send(&ClientMessage::Join {
                version: 1,
                room: &plan.room,
                token: &plan.token,
                name: &plan.name,
            })
            .await?;
        let id = loop {
            match signalling.recv().await? {
                Some(ServerMessage::Welcome { you }) => break you.id,
                Some(ServerMessage::Error { code, message }) => {
                    bail!("join refused: {code}: {message}")
                }
                Some(_) => continue,
                None => bail!("the server closed the WebSocket before welcome"),
            }
        };
        let socket = UdpSocket::bind("127.0.0.1:0").await.context("UDP bind")?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp").context("ICE candidate")?);
        let direction = |on: bool| {
            if on {
                Direction::SendOnly
            } else {
                Direction::Inactive
            }
        };
        let mut change = rtc.sdp_api();
        let audio_mid = change.add_media(
            MediaKind::Audio,
            direction(plan.publish_audio),
            None,
            None,
            None,
        );
        let video_mid = change.add_media(
            MediaKind::Video,
            direction(plan.publish_video),
            None,
            None,
            None,
        );
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| anyhow!("str0m made no offer"))?;
        signalling
            .send(&ClientMessage::Offer {
                sdp: offer.to_sdp_string(),
            })
            .await?;
        let mut stats = PeerStats::new(plan.class, plan.publish_video);
        stats.id = Some(id);
        let seed = nanos_at(now) ^ plan.class as u64;
        Ok(Peer {
            signalling,
            rtc,
            socket,
            local,
            pending: Some(pending),
            publisher: Publisher::new(
                plan.publish_audio.then_some(audio_mid),
                plan.publish_video.then(|| {
                    (
                        video_mid,
                        Vp8Source::new(ctx.video, ctx.filler.clone(), seed),
                    )
                }),
                now,
            ),
            incoming: HashMap::new(),
            connected: false,
            stats,
        })
    }

    /// The event loop, until `ctx.end`.
    async fn drive(&mut self, ctx: &RunContext) -> anyhow::Result<()> {
        let mut buf = vec![0u8; 2048];
        let sleep = tokio::time::sleep_until(ctx.end.into());
        tokio::pin!(sleep);
        let mut due_in_a_row = 0;
        loop {
            let rtc_wake = self.poll_rtc(ctx).await?;
            let now = Instant::now();
            if now >= ctx.end {
                return Ok(());
            }
            let media_due = self.connected.then(|| self.publisher.next_due()).flatten();
            let wake = rtc_wake.min(media_due.unwrap_or(ctx.end)).min(ctx.end);
            // Something is due already (str0m releases written media on a timeout): do it now,
            // a few times in a row at most before giving the socket and WebSocket their turn.
            if wake <= now && due_in_a_row < MAX_DUE_IN_A_ROW {
                due_in_a_row += 1;
                self.send_media(now, ctx);
                self.rtc
                    .handle_input(Input::Timeout(now))
                    .context("str0m timeout")?;
                continue;
            }
            due_in_a_row = 0;
            sleep.as_mut().reset(wake.into());
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    let (n, source) = received.context("UDP receive")?;
                    self.on_datagram(&buf[..n], source, ctx)?;
                    for _ in 1..RECV_BATCH {
                        self.poll_rtc(ctx).await?;
                        match self.socket.try_recv_from(&mut buf) {
                            Ok((n, source)) => self.on_datagram(&buf[..n], source, ctx)?,
                            Err(_) => break,
                        }
                    }
                }
                message = self.signalling.recv() => match message? {
                    Some(message) => self.on_signal(message).await?,
                    None => bail!("the server closed the WebSocket"),
                },
                _ = &mut sleep => {
                    let now = Instant::now();
                    self.send_media(now, ctx);
                    self.rtc.handle_input(Input::Timeout(now)).context("str0m timeout")?;
                }
            }
        }
    }

    fn on_datagram(
        &mut self,
        datagram: &[u8],
        source: SocketAddr,
        ctx: &RunContext,
    ) -> anyhow::Result<()> {
        let now = Instant::now();
        if measure::is_rtp(datagram) && ctx.window.contains(nanos_at(now)) {
            self.stats.rtp_packets += 1;
        }
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, datagram) else {
            self.stats.errors.push("undecodable datagram".into());
            return Ok(());
        };
        self.rtc
            .handle_input(Input::Receive(now, receive))
            .context("str0m input")
    }

    /// Sends what str0m wants sent and handles its events; returns its next deadline.
    async fn poll_rtc(&mut self, ctx: &RunContext) -> anyhow::Result<Instant> {
        loop {
            match self.rtc.poll_output().context("str0m output")? {
                Output::Timeout(at) => return Ok(at),
                Output::Transmit(t) => {
                    if let Err(e) = self.socket.send_to(&t.contents, t.destination).await {
                        self.stats.errors.push(format!("UDP send: {e}"));
                    }
                }
                Output::Event(event) => self.on_event(event, ctx),
            }
        }
    }

    fn on_event(&mut self, event: Event, ctx: &RunContext) {
        match event {
            Event::Connected => self.connected = true,
            Event::MediaData(data) => {
                let now = Instant::now();
                self.stats.first_media.get_or_insert(now);
                let Some(track) = self
                    .incoming
                    .get(&data.mid)
                    .and_then(|i| self.stats.tracks.get_mut(*i))
                else {
                    return;
                };
                let Some(sent) = crate::media::read_stamp(&data.data) else {
                    return;
                };
                if ctx.window.contains(sent) {
                    track.frames_in_window += 1;
                    track.first_in_window.get_or_insert(sent);
                    let latency = Duration::from_nanos(nanos_at(now).saturating_sub(sent));
                    let histogram = self
                        .stats
                        .latency
                        .entry(track.kind)
                        .or_insert_with(measure::histogram);
                    measure::record(histogram, latency);
                }
            }
            Event::KeyframeRequest(request) if self.publisher.keyframe_requested(request.mid) => {
                self.stats.keyframe_requests += 1;
            }
            _ => {}
        }
    }

    async fn on_signal(&mut self, message: ServerMessage) -> anyhow::Result<()> {
        match message {
            ServerMessage::Answer { sdp } => {
                let answer = SdpAnswer::from_sdp_string(&sdp).context("server answer")?;
                let pending = self
                    .pending
                    .take()
                    .ok_or_else(|| anyhow!("an answer with no offer of ours pending"))?;
                self.rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .context("accepting the server's answer")?;
            }
            ServerMessage::Offer { sdp } => {
                let offer = SdpOffer::from_sdp_string(&sdp).context("server offer")?;
                let answer = self
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .context("accepting the server's offer")?;
                self.signalling
                    .send(&ClientMessage::Answer {
                        sdp: answer.to_sdp_string(),
                    })
                    .await?;
            }
            ServerMessage::TrackAdded {
                mid,
                participant,
                kind,
            } => {
                let kind = if kind == "video" {
                    Kind::Video
                } else {
                    Kind::Audio
                };
                let track = TrackIn {
                    publisher: participant,
                    kind,
                    first_in_window: None,
                    frames_in_window: 0,
                };
                let mid = Mid::from(mid.as_str());
                match self.incoming.get(&mid) {
                    Some(&i) if self.stats.tracks[i].publisher == track.publisher => {}
                    _ => {
                        self.incoming.insert(mid, self.stats.tracks.len());
                        self.stats.tracks.push(track);
                    }
                }
            }
            ServerMessage::Error { code, message } => {
                self.stats
                    .errors
                    .push(format!("server error {code}: {message}"));
            }
            ServerMessage::Bye { reason } => bail!("the server said bye ({reason})"),
            ServerMessage::Welcome { .. } | ServerMessage::Other => {}
        }
        Ok(())
    }

    fn send_media(&mut self, now: Instant, ctx: &RunContext) {
        if self.connected {
            self.publisher.send_due(&mut self.rtc, now, ctx);
        }
    }
}
