//! The sans-IO media core of one shard.
//!
//! It owns every room pinned to the shard and each participant's str0m `Rtc`, and never touches a
//! socket or the clock: the IO layer (or a test) feeds it with [`ShardCore::handle_input`], passing
//! the time in, and drains it with [`ShardCore::poll_output`] until it returns a timeout.

pub mod allocation;
mod codecs;
mod commands;
mod counters;
mod downlink;
mod drops;
mod forward;
pub mod keyframe;
mod keyframe_requests;
pub mod layers;
mod participant;
mod rate;
pub mod rewrite;
mod sdp_candidates;
pub mod speaker;
mod tracks;
pub mod vp8;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::BweKind;
use str0m::config::DtlsCert;
use str0m::media::Mid;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Event, IceConnectionState};

pub use codecs::offers_usable_codec;
pub use counters::{Counters, Gauges, DOWNLINK_BUCKETS};
pub use downlink::DOWNLINK_BUCKETS_BPS;
pub use drops::{DropReason, Drops, DROP_REASONS};

use crate::command::{Command, MediaEvent};
use crate::demux::{Demux, Miss};
use crate::ids::{ParticipantId, RoomId};
use allocation::Allowance;
use participant::Participant;
use speaker::SpeakerDetector;

/// Most already-due timeouts handled in one `drive` of a participant. str0m's pacer (on with
/// bandwidth estimation) releases one packet per timeout, so this bounds the packets one drive
/// sends: a keyframe for one subscriber is a few dozen at most.
const MAX_DUE_TIMEOUTS: usize = 64;
/// A timeout str0m asks for this soon is given at once, at the instant it asked for: its pacer
/// asks for one a microsecond after each packet it releases (so that time moves between packets).
const PACER_SLACK: Duration = Duration::from_micros(50);
/// The soonest str0m's delay-based estimator is woken again. Between feedback reports it asks to
/// be woken every round-trip time, which on a LAN or loopback is a fraction of a millisecond: a
/// wake-up per session that long would cost more than the media. Feedback arrives every 50 to
/// 100 ms anyway. (When the estimator is what is soonest, anything behind it, a paced video
/// packet say, can wait up to this long; audio is not paced.)
const BWE_WAKE_FLOOR: Duration = Duration::from_millis(10);
/// How long the core may sleep when nothing at all is scheduled.
const IDLE_WAKE: Duration = Duration::from_secs(1);
/// How long a new media session may take to connect (ICE, then DTLS) before it is freed, unless
/// [`ShardCore::with_connect_timeout`] says otherwise. A browser on a school network connects in
/// well under a second; 20 s leaves room for a slow machine and a congested uplink.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the core is fed.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram arrived on the shard's socket.
    Datagram {
        source: SocketAddr,
        destination: SocketAddr,
        contents: &'a [u8],
    },
    /// A frame arrived on one of the shard's ICE-TCP connections (RFC 4571 framing removed):
    /// routed and handled as a datagram is.
    TcpFrame {
        source: SocketAddr,
        destination: SocketAddr,
        contents: &'a [u8],
    },
    /// Time passed (the timeout given by the last [`Output::Timeout`] was reached, or later).
    Timeout,
    /// The control plane asks something.
    Command(Command),
}

/// What the core wants done.
#[derive(Debug)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Tell the control plane this about that participant.
    Event(ParticipantId, MediaEvent),
    /// Nothing more to do until this instant (or the next input).
    Timeout(Instant),
}

/// Where peers reach a shard: the ICE host candidates it gives every session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCandidates {
    /// One UDP host candidate each.
    pub udp: Vec<SocketAddr>,
    /// One passive ICE-TCP host candidate each (str0m gives them a lower priority than UDP, so
    /// a browser uses them only when UDP fails).
    pub tcp: Vec<SocketAddr>,
}

/// The rooms and participants of one shard.
#[derive(Debug)]
pub struct ShardCore {
    /// Where peers reach the shard's sockets: our ICE host candidates.
    candidates: HostCandidates,
    now: Instant,
    rooms: HashMap<RoomId, Vec<ParticipantId>>,
    /// Who speaks in each room (rooms where someone published audio with levels).
    speakers: HashMap<RoomId, SpeakerDetector>,
    participants: HashMap<ParticipantId, Participant>,
    demux: Demux,
    /// Participants whose `Rtc` was written to or fed and must be polled.
    dirty: VecDeque<ParticipantId>,
    dirty_set: HashSet<ParticipantId>,
    /// Published video layers (track, layer) with a merged keyframe request waiting for its slot.
    deferred_keyframes: Vec<(ParticipantId, Mid, usize)>,
    outputs: VecDeque<Output>,
    counters: Counters,
    /// One DTLS certificate for every session of the shard. Each handshake still agrees fresh
    /// keys (ECDHE); sharing the certificate only saves generating a key pair per join.
    dtls_cert: Option<DtlsCert>,
    /// Reused for the events of one `drive`, so polling allocates nothing of ours.
    event_scratch: Vec<Event>,
    /// How long a session may take to connect; see [`DEFAULT_CONNECT_TIMEOUT`].
    connect_timeout: Duration,
    /// When subscribers' downlinks are next shared out ([`downlink::ALLOCATION_INTERVAL`]).
    next_allocation: Instant,
    /// Whether sessions estimate their downlink; see [`ShardCore::with_downlink_estimation`].
    downlink_estimation: bool,
}

impl ShardCore {
    /// A core whose peers reach it at `public_addr` over UDP (the host candidate it advertises).
    pub fn new(public_addr: SocketAddr, now: Instant) -> Self {
        ShardCore {
            candidates: HostCandidates {
                udp: vec![public_addr],
                tcp: Vec::new(),
            },
            now,
            rooms: HashMap::new(),
            speakers: HashMap::new(),
            participants: HashMap::new(),
            demux: Demux::default(),
            dirty: VecDeque::new(),
            dirty_set: HashSet::new(),
            deferred_keyframes: Vec::new(),
            outputs: VecDeque::new(),
            counters: Counters::default(),
            dtls_cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
            event_scratch: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            next_allocation: now + downlink::ALLOCATION_INTERVAL,
            downlink_estimation: true,
        }
    }

    /// Advertises `candidates` to every session that joins from now on, instead of the one UDP
    /// address given to [`ShardCore::new`].
    pub fn with_candidates(mut self, candidates: HostCandidates) -> Self {
        self.candidates = candidates;
        self
    }

    /// Frees a media session that has not connected `timeout` after its first offer (its client
    /// is told [`MediaEvent::Gone`]).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whether each new session's downlink is estimated (str0m's transport-wide congestion
    /// control, with its pacer and probing) and shared among the videos the session receives
    /// ([`allocation`]): layers follow the link, and a video that does not fit is paused. On by
    /// default; off, layers follow only what each subscriber asks for.
    pub fn with_downlink_estimation(mut self, on: bool) -> Self {
        self.downlink_estimation = on;
        self
    }

    /// Feeds one input at time `now`. Then call [`ShardCore::poll_output`] until it times out.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.now = self.now.max(now);
        match input {
            Input::Datagram {
                source,
                destination,
                contents,
            } => self.on_datagram(Protocol::Udp, source, destination, contents),
            Input::TcpFrame {
                source,
                destination,
                contents,
            } => self.on_datagram(Protocol::Tcp, source, destination, contents),
            Input::Timeout => self.on_timeout(),
            Input::Command(command) => self.on_command(command),
        }
    }

    /// What the input so far caused, without working out the next timeout: `None` once every
    /// session written to has been polled. For sending part of a read burst's output early.
    pub fn poll_caused(&mut self) -> Option<Output> {
        loop {
            if let Some(out) = self.outputs.pop_front() {
                return Some(out);
            }
            let id = self.dirty.pop_front()?;
            self.dirty_set.remove(&id);
            self.drive(id);
        }
    }

    /// The next thing to do. Returns [`Output::Timeout`] when there is nothing until then.
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(out) = self.outputs.pop_front() {
                return out;
            }
            let Some(id) = self.dirty.pop_front() else {
                return Output::Timeout(self.next_deadline());
            };
            self.dirty_set.remove(&id);
            self.drive(id);
        }
    }

    /// What the shard holds now (for metrics and leak checks).
    pub fn gauges(&self) -> Gauges {
        let (demux_ufrags, demux_addrs) = self.demux.len();
        let mut downlinks = [0; DOWNLINK_BUCKETS];
        let mut videos_paused = [0; 2];
        for participant in self.participants.values() {
            if let Some(estimate) = participant.downlink {
                let bucket = DOWNLINK_BUCKETS_BPS.partition_point(|bound| *bound < estimate);
                downlinks[bucket] += 1;
            }
            for sub in participant.subscriptions.values() {
                if let Allowance::Paused(reason) = sub.out.allocation.allowance {
                    videos_paused[reason as usize] += 1;
                }
            }
        }
        Gauges {
            rooms: self.rooms.len(),
            participants: self.participants.len(),
            published_tracks: self.participants.values().map(|p| p.published.len()).sum(),
            subscriptions: self
                .participants
                .values()
                .map(|p| p.subscriptions.len())
                .sum(),
            demux_ufrags,
            demux_addrs,
            downlinks,
            videos_paused,
        }
    }

    /// Running totals: forwarded media and every drop, by reason.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether `datagram` from `source` is RTP of one of its session's audio codecs, read from
    /// the RTP header, which SRTP leaves in the clear. The shard handles those first in a read
    /// burst, so a keyframe fanned out to a whole class does not hold the audio behind it.
    pub fn is_audio_rtp(&self, proto: Protocol, source: SocketAddr, datagram: &[u8]) -> bool {
        const RTP_VERSION_2: std::ops::RangeInclusive<u8> = 0x80..=0xbf;
        // RTCP shares the port (rtcp-mux): its packet types 192–223 sit where RTP has the marker
        // bit and payload type (RFC 5761).
        const RTCP_TYPES: std::ops::RangeInclusive<u8> = 192..=223;
        const RTP_HEADER: usize = 12;
        if datagram.len() < RTP_HEADER
            || !RTP_VERSION_2.contains(&datagram[0])
            || RTCP_TYPES.contains(&datagram[1])
        {
            return false;
        }
        let pt = datagram[1] & 0x7f;
        let Some(participant) = self
            .demux
            .participant_at(proto, source)
            .and_then(|id| self.participants.get(&id))
        else {
            return false;
        };
        participant
            .rtc
            .codec_config()
            .params()
            .iter()
            .any(|p| *p.pt() == pt && p.spec().codec.is_audio())
    }

    /// Whether packets from `source` over `proto` reach a session: its STUN was signed for one,
    /// and that session still holds the address.
    pub fn routes(&self, proto: Protocol, source: SocketAddr) -> bool {
        self.demux.knows(proto, source)
    }

    fn on_datagram(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        let id = match self.demux.route_via(proto, source, contents) {
            Ok(id) => id,
            Err(miss) => {
                match miss {
                    Miss::UnknownUfrag => self.counters.dropped.add(DropReason::UnknownUfrag),
                    Miss::BadStun => self.counters.dropped.add(DropReason::BadStun),
                    Miss::UnknownSource => self.counters.dropped.add(DropReason::UnknownSource),
                }
                return;
            }
        };
        let destination = self.candidate_for(proto, destination);
        let Some(participant) = self.participants.get_mut(&id) else {
            self.counters.dropped.add(DropReason::UnknownSource);
            return;
        };
        let Ok(receive) = Receive::new(proto, source, destination, contents) else {
            self.counters.dropped.add(DropReason::Malformed);
            return;
        };
        if let Err(e) = participant
            .rtc
            .handle_input(str0m::Input::Receive(self.now, receive))
        {
            self.counters.dropped.add(DropReason::Malformed);
            tracing::debug!(participant = %id, error = %e, "peer sent a datagram str0m refused");
        }
        // In RTP mode str0m holds one received packet until it is polled: poll now, before the
        // next datagram of this peer would take its place.
        self.drive(id);
    }

    /// The host candidate a packet that reached `local` was sent to. str0m answers STUN only on
    /// a local candidate's address; a socket bound to a wildcard or to a private address behind
    /// a NAT (the candidate names the public one) sees another address, of the same port.
    fn candidate_for(&self, proto: Protocol, local: SocketAddr) -> SocketAddr {
        let list = match proto {
            Protocol::Tcp => &self.candidates.tcp,
            _ => &self.candidates.udp,
        };
        if list.contains(&local) {
            return local;
        }
        list.iter()
            .find(|c| c.port() == local.port() && c.is_ipv4() == local.is_ipv4())
            .or_else(|| list.iter().find(|c| c.port() == local.port()))
            .copied()
            .unwrap_or(local)
    }

    fn on_timeout(&mut self) {
        let now = self.now;
        self.give_up_unconnected(now);
        for (id, participant) in self.participants.iter_mut() {
            if participant.next_timeout <= now {
                if let Err(e) = participant.rtc.handle_input(str0m::Input::Timeout(now)) {
                    tracing::debug!(participant = %id, error = %e, "timeout handling failed");
                }
                if self.dirty_set.insert(*id) {
                    self.dirty.push_back(*id);
                }
            }
        }
        self.release_deferred_keyframes();
        self.allocate_if_due();
    }

    /// Frees the sessions that were given their chance to connect and did not take it.
    fn give_up_unconnected(&mut self, now: Instant) {
        let overdue: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| p.connect_by.is_some_and(|by| by <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            self.counters.media_sessions_never_connected += 1;
            tracing::debug!(participant = %id, "media session never connected; freed");
            self.remove(id, true);
        }
    }

    /// Polls one participant's `Rtc` until it times out, then acts on what it said.
    fn drive(&mut self, id: ParticipantId) {
        let now = self.now;
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let mut events = std::mem::take(&mut self.event_scratch);
        // str0m sends written media only when it handles a timeout, and its pacer releases one
        // packet per timeout, asking for the next a microsecond later: a timeout that is due
        // (or within `PACER_SLACK`) is given at once rather than a whole IO-loop round later.
        // Its delay-based estimator, though, may be what is due, over and over (it asks to be
        // woken every round trip): that is given a timeout only while the last one released
        // something, and otherwise waits for `BWE_WAKE_FLOOR`. Bounded either way, so a session
        // that keeps asking cannot spin the shard.
        let mut due_timeouts = 0;
        let mut released = true;
        loop {
            if !participant.rtc.is_alive() {
                break;
            }
            match participant.rtc.poll_output() {
                Ok(str0m::Output::Transmit(t)) => {
                    released = true;
                    self.outputs.push_back(Output::Transmit(t));
                }
                Ok(str0m::Output::Timeout(t)) => {
                    let due = t <= now + PACER_SLACK;
                    let estimator = matches!(
                        participant.rtc.last_timeout_reason(),
                        str0m::Reason::BweDelayControl
                    );
                    let give = due && (!estimator || released);
                    if !give || due_timeouts >= MAX_DUE_TIMEOUTS {
                        participant.next_timeout = match estimator {
                            true => t.max(now + BWE_WAKE_FLOOR),
                            false => t,
                        };
                        break;
                    }
                    due_timeouts += 1;
                    released = false;
                    let at = t.max(now);
                    if let Err(e) = participant.rtc.handle_input(str0m::Input::Timeout(at)) {
                        tracing::debug!(participant = %id, error = %e, "timeout handling failed");
                    }
                }
                Ok(str0m::Output::Event(e)) => events.push(e),
                Err(e) => {
                    tracing::debug!(participant = %id, error = %e, "session failed");
                    participant.rtc.disconnect();
                    break;
                }
            }
        }
        let alive = participant.rtc.is_alive();
        for event in events.drain(..) {
            self.on_rtc_event(id, event);
        }
        self.event_scratch = events;
        if !alive {
            return self.remove(id, true);
        }
        if let Some(participant) = self.participants.get_mut(&id) {
            if participant.needs_negotiation() {
                let events = participant.negotiate();
                self.outputs
                    .extend(events.into_iter().map(|e| Output::Event(id, e)));
            }
        }
    }

    fn on_rtc_event(&mut self, id: ParticipantId, event: Event) {
        match event {
            Event::Connected => self.on_connected(id),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                // Consent expired: the peer is gone. (Reconnection with an ICE restart inside a
                // grace period belongs to the control plane's resume flow.)
                if let Some(p) = self.participants.get_mut(&id) {
                    p.rtc.disconnect();
                }
            }
            Event::MediaAdded(added) if added.direction.is_receiving() => {
                self.on_track_published(id, added.mid, added.kind);
            }
            Event::MediaChanged(changed) => {
                self.on_media_changed(id, changed.mid, changed.direction);
            }
            Event::RtpPacket(packet) => self.forward(id, packet),
            Event::KeyframeRequest(req) => self.on_keyframe_request(id, req.mid),
            Event::StreamPaused(paused) => self.on_stream_paused(id, paused),
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.on_downlink_estimate(id, estimate);
            }
            _ => {}
        }
    }

    fn mark_dirty(&mut self, id: ParticipantId) {
        if self.dirty_set.insert(id) {
            self.dirty.push_back(id);
        }
    }

    fn next_deadline(&self) -> Instant {
        let rtc = self
            .participants
            .values()
            .flat_map(|p| std::iter::once(p.next_timeout).chain(p.connect_by));
        let keyframes = self.deferred_keyframes.iter().filter_map(|(p, mid, slot)| {
            self.participants
                .get(p)
                .and_then(|p| p.published.get(mid))
                .and_then(|t| t.keyframes.get(*slot))
                .and_then(|gate| gate.deadline())
        });
        rtc.chain(keyframes)
            .chain(self.allocation_deadline())
            .min()
            .unwrap_or(self.now + IDLE_WAKE)
    }
}
