//! The sans-IO media core of one shard.
//!
//! It owns every room pinned to the shard and each participant's str0m `Rtc`, and never touches a
//! socket or the clock: the IO layer (or a test) feeds it with [`ShardCore::handle_input`], passing
//! the time in, and drains it with [`ShardCore::poll_output`] until it returns a timeout.

mod codecs;
mod counters;
mod forward;
pub mod keyframe;
mod participant;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::distr::{Alphanumeric, SampleString};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::DtlsCert;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, IceConnectionState, IceCreds};

pub use codecs::offers_usable_codec;
pub use counters::{Counters, Gauges};

use crate::command::{Command, MediaEvent, PublishRights, Rejection, TrackSource};
use crate::demux::{Demux, Miss};
use crate::ids::{ParticipantId, RoomId};
use participant::{Participant, PublishedTrack};

/// Most already-due timeouts handled in one `drive` of a participant.
const MAX_DUE_TIMEOUTS: usize = 4;
/// How long the core may sleep when nothing at all is scheduled.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// What the core is fed.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram arrived on the shard's socket.
    Datagram {
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

/// The rooms and participants of one shard.
#[derive(Debug)]
pub struct ShardCore {
    /// Where peers reach the shard's socket: our one ICE host candidate.
    public_addr: SocketAddr,
    now: Instant,
    rooms: HashMap<RoomId, Vec<ParticipantId>>,
    participants: HashMap<ParticipantId, Participant>,
    demux: Demux,
    /// Participants whose `Rtc` was written to or fed and must be polled.
    dirty: VecDeque<ParticipantId>,
    dirty_set: HashSet<ParticipantId>,
    /// Published video tracks with a merged keyframe request waiting for its slot.
    deferred_keyframes: Vec<(ParticipantId, str0m::media::Mid)>,
    outputs: VecDeque<Output>,
    counters: Counters,
    /// One DTLS certificate for every session of the shard. Each handshake still agrees fresh
    /// keys (ECDHE); sharing the certificate only saves generating a key pair per join.
    dtls_cert: Option<DtlsCert>,
    /// Reused for the events of one `drive`, so polling allocates nothing of ours.
    event_scratch: Vec<Event>,
}

impl ShardCore {
    /// A core whose peers reach it at `public_addr` (the host candidate it advertises).
    pub fn new(public_addr: SocketAddr, now: Instant) -> Self {
        ShardCore {
            public_addr,
            now,
            rooms: HashMap::new(),
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
        }
    }

    /// Feeds one input at time `now`. Then call [`ShardCore::poll_output`] until it times out.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.now = self.now.max(now);
        match input {
            Input::Datagram {
                source,
                destination,
                contents,
            } => self.on_datagram(source, destination, contents),
            Input::Timeout => self.on_timeout(),
            Input::Command(command) => self.on_command(command),
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
        }
    }

    /// Running totals: forwarded media and every drop, by reason.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn on_datagram(&mut self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) {
        let id = match self.demux.route(source, contents) {
            Ok(id) => id,
            Err(miss) => {
                match miss {
                    Miss::UnknownUfrag => self.counters.dropped_unknown_ufrag += 1,
                    Miss::BadStun => self.counters.dropped_bad_stun += 1,
                    Miss::UnknownSource => self.counters.dropped_unknown_source += 1,
                }
                return;
            }
        };
        let Some(participant) = self.participants.get_mut(&id) else {
            self.counters.dropped_unknown_source += 1;
            return;
        };
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, contents) else {
            self.counters.dropped_malformed += 1;
            return;
        };
        if let Err(e) = participant
            .rtc
            .handle_input(str0m::Input::Receive(self.now, receive))
        {
            self.counters.dropped_malformed += 1;
            tracing::debug!(participant = %id, error = %e, "peer sent a datagram str0m refused");
        }
        self.mark_dirty(id);
    }

    fn on_timeout(&mut self) {
        let now = self.now;
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
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Join {
                room,
                participant,
                offer,
                sources,
            } => self.join(room, participant, &offer, &sources),
            Command::Offer {
                participant,
                sdp,
                sources,
            } => self.renegotiate(participant, &sdp, &sources),
            Command::SetRights {
                participant,
                rights,
            } => self.set_rights(participant, rights),
            Command::Answer { participant, sdp } => self.accept_answer(participant, &sdp),
            Command::Leave { participant } => self.remove(participant, false),
        }
    }

    fn reject(&mut self, id: ParticipantId, why: Rejection) {
        self.outputs
            .push_back(Output::Event(id, MediaEvent::Rejected(why)));
    }

    fn join(
        &mut self,
        room: RoomId,
        id: ParticipantId,
        offer_sdp: &str,
        sources: &[(String, TrackSource)],
    ) {
        if self.participants.contains_key(&id) {
            return self.reject(id, Rejection::AlreadyJoined);
        }
        let offer = match parse_offer(offer_sdp) {
            Ok(offer) => offer,
            Err(why) => return self.reject(id, why),
        };
        let ufrag = self.fresh_ufrag();
        let pass = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let creds = IceCreds {
            ufrag: ufrag.clone(),
            pass: pass.clone(),
        };
        let mut config = codecs::rtc_config()
            .set_ice_lite(true)
            .set_local_ice_credentials(creds);
        if let Some(cert) = &self.dtls_cert {
            config = config.set_dtls_cert(cert.clone());
        }
        let mut rtc = config.build(self.now);
        match Candidate::host(self.public_addr, "udp") {
            Ok(candidate) => {
                rtc.add_local_candidate(candidate);
            }
            Err(e) => {
                tracing::error!(error = %e, "the configured public address is not a usable ICE candidate");
                return self.reject(id, Rejection::BadSdp("server has no usable address".into()));
            }
        }
        let answer = match rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => answer,
            Err(e) => return self.reject(id, Rejection::BadSdp(e.to_string())),
        };
        self.demux.insert_ufrag(&ufrag, &pass, id);
        let mut participant = Participant::new(room, rtc, self.now);
        participant.declare(sources);
        let members = self.rooms.entry(room).or_default();
        for other in members.iter() {
            if let Some(publisher) = self.participants.get(other) {
                for (mid, track) in &publisher.published {
                    participant.subscribe((*other, *mid), track.kind, track.source);
                }
            }
        }
        members.push(id);
        self.participants.insert(id, participant);
        self.outputs.push_back(Output::Event(
            id,
            MediaEvent::Answer {
                sdp: answer.to_sdp_string(),
            },
        ));
        tracing::debug!(participant = %id, %room, "joined media session");
        self.mark_dirty(id);
    }

    fn renegotiate(&mut self, id: ParticipantId, sdp: &str, sources: &[(String, TrackSource)]) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return self.reject(id, Rejection::NotJoined);
        };
        if participant.pending_offer.is_some() {
            return self.reject(id, Rejection::RenegotiationBusy);
        }
        let offer = match parse_offer(sdp) {
            Ok(offer) => offer,
            Err(why) => return self.reject(id, why),
        };
        participant.declare(sources);
        match participant.rtc.sdp_api().accept_offer(offer) {
            Ok(answer) => {
                // An offer with new ICE credentials restarts ICE, and str0m (as an ICE-lite
                // answerer) then picks new local credentials of its own: the demux must route
                // STUN under the new ufrag, or the restart can never complete.
                let creds = participant.rtc.direct_api().local_ice_credentials();
                self.demux.replace_ufrag(&creds.ufrag, &creds.pass, id);
                let sdp = answer.to_sdp_string();
                self.outputs
                    .push_back(Output::Event(id, MediaEvent::Answer { sdp }));
                self.mark_dirty(id);
            }
            Err(e) => self.reject(id, Rejection::BadSdp(e.to_string())),
        }
    }

    /// New publishing rights for `id`: its media of a source that lost its right is dropped from
    /// now on; a video source that got its right back asks for a keyframe, so subscribers can
    /// decode at once rather than at the publisher's next periodic keyframe.
    fn set_rights(&mut self, id: ParticipantId, rights: PublishRights) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let before = std::mem::replace(&mut participant.rights, rights);
        let regained: Vec<_> = participant
            .published
            .iter()
            .filter(|(_, t)| t.kind == MediaKind::Video)
            .filter(|(_, t)| rights.allows(t.source) && !before.allows(t.source))
            .map(|(mid, _)| *mid)
            .collect();
        for mid in regained {
            self.request_keyframe(id, mid);
        }
    }

    fn accept_answer(&mut self, id: ParticipantId, sdp: &str) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return self.reject(id, Rejection::NotJoined);
        };
        let Some(pending) = participant.pending_offer.take() else {
            return self.reject(id, Rejection::UnexpectedAnswer);
        };
        let answer = match SdpAnswer::from_sdp_string(sdp) {
            Ok(answer) => answer,
            Err(e) => {
                // Nothing was applied: the offer stays outstanding for a corrected answer.
                participant.pending_offer = Some(pending);
                return self.reject(id, Rejection::BadSdp(e.to_string()));
            }
        };
        if let Err(e) = participant.rtc.sdp_api().accept_answer(pending, answer) {
            // str0m has applied part of our offer and dropped the rest: the session no longer
            // matches what either side believes, so it ends (the client may join again).
            participant.rtc.disconnect();
            self.reject(
                id,
                Rejection::BadSdp(format!("{e}; the media session ends")),
            );
            self.mark_dirty(id);
            return;
        }
        for (publisher, mid) in participant.settle_offer() {
            self.request_keyframe(publisher, mid);
        }
        self.mark_dirty(id);
    }

    /// Frees everything `id` held; `vanished` when it went without a `Leave`.
    fn remove(&mut self, id: ParticipantId, vanished: bool) {
        let Some(mut participant) = self.participants.remove(&id) else {
            return;
        };
        participant.rtc.disconnect();
        self.demux.remove(id);
        self.deferred_keyframes.retain(|(p, _)| *p != id);
        let mut others = Vec::new();
        if let Some(members) = self.rooms.get_mut(&participant.room) {
            members.retain(|m| *m != id);
            others.clone_from(members);
            if members.is_empty() {
                self.rooms.remove(&participant.room);
            }
        }
        for other in others {
            if let Some(p) = self.participants.get_mut(&other) {
                p.unsubscribe_all_of(id);
                self.mark_dirty(other);
            }
        }
        if vanished {
            self.outputs.push_back(Output::Event(id, MediaEvent::Gone));
        }
        tracing::debug!(participant = %id, vanished, "media session freed");
    }

    /// Polls one participant's `Rtc` until it times out, then acts on what it said.
    fn drive(&mut self, id: ParticipantId) {
        let now = self.now;
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let mut events = std::mem::take(&mut self.event_scratch);
        // str0m packetizes written media only when it handles a timeout: if it asks for one that
        // is already due, give it at once rather than a whole IO-loop round later (bounded, so a
        // session that keeps asking cannot spin the shard).
        let mut due_timeouts = 0;
        loop {
            if !participant.rtc.is_alive() {
                break;
            }
            match participant.rtc.poll_output() {
                Ok(str0m::Output::Transmit(t)) => self.outputs.push_back(Output::Transmit(t)),
                Ok(str0m::Output::Timeout(t)) if t <= now && due_timeouts < MAX_DUE_TIMEOUTS => {
                    due_timeouts += 1;
                    if let Err(e) = participant.rtc.handle_input(str0m::Input::Timeout(now)) {
                        tracing::debug!(participant = %id, error = %e, "timeout handling failed");
                    }
                }
                Ok(str0m::Output::Timeout(t)) => {
                    participant.next_timeout = t;
                    break;
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
            Event::MediaData(data) => self.forward(id, data),
            Event::KeyframeRequest(req) => self.on_keyframe_request(id, req.mid),
            _ => {}
        }
    }

    fn on_connected(&mut self, id: ParticipantId) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        participant.connected = true;
        self.outputs
            .push_back(Output::Event(id, MediaEvent::Connected));
        // What was written before the connection came up is stale by now (str0m queues it): ask
        // every publisher for a keyframe so decoding starts cleanly on fresh media.
        let open: Vec<_> = participant
            .subscriptions
            .iter()
            .filter(|(_, s)| s.open_mid().is_some())
            .map(|(source, _)| *source)
            .collect();
        for (publisher, mid) in open {
            self.request_keyframe(publisher, mid);
        }
    }

    fn on_track_published(
        &mut self,
        id: ParticipantId,
        mid: str0m::media::Mid,
        kind: str0m::media::MediaKind,
    ) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let source = participant.source_for(mid, kind);
        participant
            .published
            .insert(mid, PublishedTrack::new(kind, source));
        let room = participant.room;
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for other in members.into_iter().filter(|m| *m != id) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.subscribe((id, mid), kind, source);
                self.mark_dirty(other);
            }
        }
    }

    /// The participant turned one of its m-lines on or off (the camera button: the web client
    /// offers `inactive` for a device that is off, `sendonly` once it is on). Our own m-lines
    /// towards it change direction too, but those never receive, and are never in `published`.
    fn on_media_changed(
        &mut self,
        id: ParticipantId,
        mid: str0m::media::Mid,
        direction: Direction,
    ) {
        let Some(participant) = self.participants.get(&id) else {
            return;
        };
        let published = participant.published.contains_key(&mid);
        if direction.is_receiving() && !published {
            if let Some(kind) = participant.rtc.media(mid).map(|m| m.kind()) {
                self.on_track_published(id, mid, kind);
            }
        } else if !direction.is_receiving() && published {
            self.on_track_unpublished(id, mid);
        }
    }

    fn on_track_unpublished(&mut self, id: ParticipantId, mid: str0m::media::Mid) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        participant.published.remove(&mid);
        let room = participant.room;
        self.deferred_keyframes.retain(|entry| *entry != (id, mid));
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for other in members.into_iter().filter(|m| *m != id) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.unsubscribe_track((id, mid));
                self.mark_dirty(other);
            }
        }
    }

    fn mark_dirty(&mut self, id: ParticipantId) {
        if self.dirty_set.insert(id) {
            self.dirty.push_back(id);
        }
    }

    fn fresh_ufrag(&self) -> String {
        loop {
            let ufrag = Alphanumeric.sample_string(&mut rand::rng(), 16);
            if !self.demux.has_ufrag(&ufrag) {
                return ufrag;
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        let rtc = self.participants.values().map(|p| p.next_timeout);
        let keyframes = self.deferred_keyframes.iter().filter_map(|(p, mid)| {
            self.participants
                .get(p)
                .and_then(|p| p.published.get(mid))
                .and_then(|t| t.keyframes.deadline())
        });
        rtc.chain(keyframes).min().unwrap_or(self.now + IDLE_WAKE)
    }
}

fn parse_offer(sdp: &str) -> Result<SdpOffer, Rejection> {
    let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| Rejection::BadSdp(e.to_string()))?;
    if !offers_usable_codec(sdp) {
        return Err(Rejection::NoUsableCodec);
    }
    Ok(offer)
}
