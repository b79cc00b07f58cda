//! One PeerConnection: a str0m `Rtc` doing real ICE, DTLS and SRTP over a loopback UDP socket of
//! its own (or one ICE-TCP connection, see [`Wire`]), sending camera and mic frames on schedule and recording what it receives. It runs in
//! a task of its own; the participant's signalling drives it through a [`Link`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Context};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid, Simulcast, SimulcastLayer};
use str0m::net::{Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::{mpsc, oneshot};

use super::arrival::Received;
use super::publish::Publisher;
use super::wire::Wire;
use super::{Link, PeerPlan, RunContext};
use crate::measure::{self, nanos_at, nanos_at_wall, Kind, PeerStats, TrackIn};

/// Datagrams handled in a row before the task looks at its control channel and timer again.
const RECV_BATCH: usize = 64;
/// Due timeouts handled back to back before the task waits on its socket again.
const MAX_DUE_IN_A_ROW: u32 = 4;

/// What an offer says about one kind of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MLine {
    /// No m-line of this kind.
    Absent,
    /// An m-line that sends nothing (kept so later changes need no new m-line).
    Inactive,
    /// Publish this kind.
    Send,
}

/// What the signalling side asks of a running connection.
pub(super) enum Control {
    Answer(String),
    Offer(String, oneshot::Sender<Result<String, String>>),
    Track {
        mid: String,
        publisher: String,
        kind: Kind,
    },
}

/// A PeerConnection being set up; [`Connection::spawn`] starts it.
pub struct Connection {
    rtc: Rtc,
    wire: Wire,
    pending: Option<SdpPendingOffer>,
    publisher: Publisher,
    /// Incoming m-line → index in `stats.tracks`.
    incoming: HashMap<Mid, usize>,
    /// When the datagram being handled reached our socket (frames it completes arrived then).
    arrived: Option<SystemTime>,
    connected: bool,
    stats: PeerStats,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("wire", &self.wire)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Binds a loopback UDP socket and makes an ICE agent with that one host candidate; or, for
    /// a peer over ICE-TCP, an agent with no candidate yet (its offer has none, as a browser's
    /// whose UDP is blocked; the active TCP candidate is added once connected).
    pub async fn new(plan: &PeerPlan) -> anyhow::Result<Connection> {
        let wire = if plan.tcp {
            Wire::Tcp(None)
        } else {
            Wire::udp().await?
        };
        let now = Instant::now();
        let mut rtc = Rtc::builder().build(now);
        if let Some(local) = wire.local() {
            rtc.add_local_candidate(Candidate::host(local, "udp").context("ICE candidate")?);
        }
        Ok(Connection {
            rtc,
            wire,
            pending: None,
            publisher: Publisher::silent(),
            incoming: HashMap::new(),
            arrived: None,
            connected: false,
            stats: PeerStats::new(plan),
        })
    }

    /// Our offer (all candidates in it): a mic and a camera m-line as asked. The camera is the
    /// synthetic VP8 source, as simulcast layers when `ctx.camera` has several; what is published
    /// starts once ICE and DTLS are up.
    pub fn offer(
        &mut self,
        audio: MLine,
        video: MLine,
        plan: &PeerPlan,
        ctx: &RunContext,
    ) -> anyhow::Result<String> {
        let direction = |line: MLine| match line {
            MLine::Send => Direction::SendOnly,
            _ => Direction::Inactive,
        };
        let mut change = self.rtc.sdp_api();
        let audio_mid = (audio != MLine::Absent)
            .then(|| change.add_media(MediaKind::Audio, direction(audio), None, None, None));
        let layers = (video == MLine::Send && ctx.camera.len() > 1).then(|| {
            let mut layers = Simulcast::new();
            for rid in ctx.camera.iter().filter_map(|layer| layer.rid) {
                layers.add_send_layer(SimulcastLayer::new(rid));
            }
            layers
        });
        let video_mid = (video != MLine::Absent)
            .then(|| change.add_media(MediaKind::Video, direction(video), None, None, layers));
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| anyhow!("str0m made no offer"))?;
        self.pending = Some(pending);
        let now = Instant::now();
        let seed = nanos_at(now) ^ plan.class as u64;
        self.publisher = Publisher::new(
            audio_mid.filter(|_| audio == MLine::Send),
            video_mid
                .filter(|_| video == MLine::Send)
                .map(|mid| (mid, ctx.camera.as_slice())),
            &ctx.filler,
            seed,
            now,
        );
        Ok(offer.to_sdp_string())
    }

    /// Takes the server's answer to our offer; an ICE-TCP peer then connects to the candidate
    /// it names.
    pub async fn accept_answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp).context("the server's answer")?;
        let pending = self
            .pending
            .take()
            .ok_or_else(|| anyhow!("an answer with no offer of ours pending"))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .context("accepting the server's answer")?;
        if let Some(local) = self.wire.connect_to_answer(sdp).await? {
            let candidate = Candidate::builder()
                .tcp()
                .host(local)
                .tcptype(TcpType::Active)
                .build()
                .context("ICE-TCP candidate")?;
            self.rtc.add_local_candidate(candidate);
        }
        Ok(())
    }

    /// Takes an offer from the server; returns our answer.
    pub fn answer(&mut self, sdp: &str) -> anyhow::Result<String> {
        let offer = SdpOffer::from_sdp_string(sdp).context("the server's offer")?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .context("accepting the server's offer")?;
        Ok(answer.to_sdp_string())
    }

    /// Media arriving on `mid` is `publisher`'s `kind` (a reused m-line gets a new track).
    pub fn add_track(&mut self, mid: &str, publisher: String, kind: Kind) {
        let mid = Mid::from(mid);
        match self.incoming.get(&mid) {
            Some(&i) if self.stats.tracks[i].publisher == publisher => {}
            _ => {
                self.incoming.insert(mid, self.stats.tracks.len());
                self.stats.tracks.push(TrackIn {
                    publisher,
                    kind,
                    first_in_window: None,
                    frames_in_window: 0,
                });
            }
        }
    }

    /// Runs the connection in its own task until `ctx.end` (or until its [`Link`] is dropped).
    pub fn spawn(mut self, ctx: Arc<RunContext>) -> Link {
        let (control, mut commands) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            if let Err(e) = self.drive(&ctx, &mut commands).await {
                self.stats.errors.push(format!("{e:#}"));
            }
            self.stats.connected = self.connected;
            self.stats.sent = std::mem::take(&mut self.publisher.sent);
            if !self.connected {
                self.stats.errors.push("ICE/DTLS never connected".into());
            }
            self.stats
        });
        Link { control, task }
    }

    /// The event loop, until `ctx.end`.
    async fn drive(
        &mut self,
        ctx: &RunContext,
        commands: &mut mpsc::UnboundedReceiver<Control>,
    ) -> anyhow::Result<()> {
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
            // a few times in a row at most before giving the socket and signalling their turn.
            if wake <= now && due_in_a_row < MAX_DUE_IN_A_ROW {
                due_in_a_row += 1;
                self.on_timeout(now, ctx)?;
                continue;
            }
            due_in_a_row = 0;
            sleep.as_mut().reset(wake.into());
            tokio::select! {
                received = self.wire.recv(&mut buf) => {
                    let received = received.context("receive")?;
                    self.on_datagram(&buf, received, ctx)?;
                    for _ in 1..RECV_BATCH {
                        self.poll_rtc(ctx).await?;
                        match self.wire.try_recv(&mut buf) {
                            Ok(received) => self.on_datagram(&buf, received, ctx)?,
                            Err(_) => break,
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(command) => self.on_control(command).await?,
                    None => return Ok(()),
                },
                _ = &mut sleep => {
                    self.on_timeout(Instant::now(), ctx)?;
                }
            }
        }
    }

    /// Sends the media that is due and lets str0m act on time passing. A frame str0m releases
    /// now (held back for reordering) did not arrive now: it gets no arrival time, so its
    /// latency counts up to its delivery.
    fn on_timeout(&mut self, now: Instant, ctx: &RunContext) -> anyhow::Result<()> {
        self.arrived = None;
        self.send_media(now, ctx);
        self.rtc
            .handle_input(Input::Timeout(now))
            .context("str0m timeout")
    }

    async fn on_control(&mut self, command: Control) -> anyhow::Result<()> {
        match command {
            Control::Answer(sdp) => self.accept_answer(&sdp).await,
            Control::Offer(sdp, reply) => {
                let answer = self.answer(&sdp);
                let _ = reply.send(answer.as_ref().map_err(|e| format!("{e:#}")).cloned());
                answer.map(|_| ())
            }
            Control::Track {
                mid,
                publisher,
                kind,
            } => {
                self.add_track(&mid, publisher, kind);
                Ok(())
            }
        }
    }

    /// Hands str0m a packet (in `buf[..received.len]`); frames it completes come out of the
    /// next [`Self::poll_rtc`], which is why its arrival time is kept.
    fn on_datagram(
        &mut self,
        buf: &[u8],
        received: Received,
        ctx: &RunContext,
    ) -> anyhow::Result<()> {
        let Received {
            len,
            source,
            arrived,
        } = received;
        let datagram = &buf[..len];
        let now = Instant::now();
        self.arrived = arrived;
        if measure::is_rtp(datagram) && ctx.window.contains(nanos_at(now)) {
            self.stats.rtp_packets += 1;
        }
        let local = self
            .wire
            .local()
            .ok_or_else(|| anyhow!("a packet before the connection"))?;
        let Ok(receive) = Receive::new(self.wire.protocol(), source, local, datagram) else {
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
                    if let Err(e) = self.wire.send(&t.contents, t.destination).await {
                        self.stats.errors.push(format!("send: {e}"));
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
                    let delivered = nanos_at(now);
                    let arrived = self.arrived.map_or(delivered, nanos_at_wall).min(delivered);
                    let latency = Duration::from_nanos(arrived.saturating_sub(sent));
                    let lag = Duration::from_nanos(delivered - arrived);
                    measure::record(&mut self.stats.receive_lag, lag);
                    let histogram = self
                        .stats
                        .latency
                        .entry(track.kind)
                        .or_insert_with(measure::histogram);
                    measure::record(histogram, latency);
                }
            }
            Event::KeyframeRequest(request)
                if self.publisher.keyframe_requested(request.mid, request.rid) =>
            {
                self.stats.keyframe_requests += 1;
            }
            _ => {}
        }
    }

    fn send_media(&mut self, now: Instant, ctx: &RunContext) {
        if self.connected {
            self.publisher.send_due(&mut self.rtc, now, ctx);
        }
    }
}
