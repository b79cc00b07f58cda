//! A simulated network for the sans-IO shard core: no sockets, no threads, no wall clock.
//!
//! One [`ShardCore`] listens at [`SERVER`]; every client is a full-ICE str0m `Rtc` with a host
//! candidate on its own loopback port, playing the browser. Time starts at `Instant::now()` and only
//! moves when the harness ticks, so a test's outcome depends on the code and not on the machine.
//! Each tick feeds due timeouts to both sides, lets publishers write frames, then shuttles every
//! datagram and signalling message until the network is quiet.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use sfu::core::{Input, Output, ShardCore};
use sfu::{Command, MediaEvent, ParticipantId, RoomId, TrackKind};
use str0m::change::{SdpAnswer, SdpApi, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Rtc, RtcConfig};

/// The shard's socket, as advertised in its ICE candidate.
pub const SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000);
/// Opus frames are 20 ms; video runs at 25 fps.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(40);
/// Sizes that make a keyframe span several RTP packets and a delta frame one.
const KEYFRAME_BYTES: usize = 3000;
const DELTA_BYTES: usize = 400;
/// How often one tick may re-feed a side that asks to be woken again at the same instant.
const MAX_ROUNDS_PER_TICK: usize = 64;

/// Installs the aws-lc-rs provider once, so every `Rtc` shares it instead of building its own.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A no-op if some provider is installed already, which is just as good.
        str0m::crypto::from_feature_flags().install_process_default();
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
    });
}

/// Drops every `every`-th datagram on one leg (0: lossless). Deterministic by construction.
#[derive(Debug, Default, Clone)]
pub struct Loss {
    pub every: u64,
    seen: u64,
    pub dropped: u64,
}

impl Loss {
    fn lose(&mut self) -> bool {
        if self.every == 0 {
            return false;
        }
        self.seen += 1;
        let lost = self.seen % self.every == 0;
        self.dropped += u64::from(lost);
        lost
    }
}

/// What one client received on one of its m-lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub frames: u64,
    pub keyframes: u64,
}

/// A browser-like peer.
#[derive(Debug)]
pub struct Client {
    pub id: ParticipantId,
    pub room: RoomId,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    timeout: Instant,
    /// Our own m-lines: always one of each, like the web client, `Inactive` when not sending.
    pub audio_mid: Mid,
    pub video_mid: Mid,
    /// Which of them are negotiated as sending.
    pub sending: Publish,
    /// Our join offer, until the server's answer arrives.
    pending: Option<SdpPendingOffer>,
    /// When set, server offers wait in `held_offers` instead of being answered at once.
    pub hold_offers: bool,
    pub held_offers: VecDeque<String>,
    /// Whether it writes frames on the m-lines it sends on, once connected.
    pub publishing: bool,
    /// A keyframe every n-th video frame; `None`: only the first one and on request.
    pub keyframe_every: Option<u64>,
    force_keyframe: bool,
    pub video_frames_sent: u64,
    pub keyframes_sent: u64,
    next_audio: Option<Instant>,
    next_video: Option<Instant>,
    /// str0m on the client says ICE and DTLS are up.
    pub connected: bool,
    /// Server m-line → the track it carries now, from `TrackAdded` (an m-line can be reused for
    /// another track after a `TrackRemoved`).
    pub tracks: HashMap<Mid, (ParticipantId, TrackKind)>,
    /// What arrived, by the track the m-line carried at that moment.
    pub received: HashMap<(ParticipantId, TrackKind), Received>,
    /// Frames on an m-line that carried no announced track at that moment.
    pub unannounced_frames: u64,
    /// `KeyframeRequest` events about our own m-lines.
    pub keyframe_requests: HashMap<Mid, u64>,
    /// Every event the core emitted for this participant, in order.
    pub events: Vec<MediaEvent>,
    /// It vanished: nothing is sent by it or delivered to it any more.
    pub silent: bool,
    pub loss_up: Loss,
    pub loss_down: Loss,
}

impl Client {
    /// What this client received of `publisher`'s track of `kind`.
    pub fn received_from(&self, publisher: ParticipantId, kind: TrackKind) -> Received {
        let r = self.received.get(&(publisher, kind));
        r.copied().unwrap_or_default()
    }

    pub fn video_keyframe_requests(&self) -> u64 {
        let requests = self.keyframe_requests.get(&self.video_mid);
        requests.copied().unwrap_or(0)
    }

    /// The ICE username fragment the core gave this session (from its answer).
    pub fn server_ufrag(&self) -> String {
        let answer = self.events.iter().find_map(|e| match e {
            MediaEvent::Answer { sdp } => Some(sdp),
            _ => None,
        });
        let line = answer.and_then(|sdp| sdp.lines().find(|l| l.starts_with("a=ice-ufrag:")));
        let ufrag = line.expect("the answer has an ufrag")["a=ice-ufrag:".len()..].trim();
        ufrag.to_string()
    }

    pub fn saw(&self, wanted: &MediaEvent) -> bool {
        self.events.iter().any(|e| e == wanted)
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected = true,
            Event::MediaData(data) => {
                let Some(&track) = self.tracks.get(&data.mid) else {
                    self.unannounced_frames += 1;
                    return;
                };
                let r = self.received.entry(track).or_default();
                r.frames += 1;
                // VP8 frame tag: bit 0 clear is a keyframe. Opus frames are never counted.
                if track.1 == TrackKind::Video && data.data.first().is_some_and(|b| b & 1 == 0) {
                    r.keyframes += 1;
                }
            }
            Event::KeyframeRequest(req) => {
                *self.keyframe_requests.entry(req.mid).or_default() += 1;
                self.force_keyframe = true;
            }
            _ => {}
        }
    }

    /// Writes the frames that are due at `now` (only once connected: str0m drops earlier writes).
    fn write_media(&mut self, now: Instant, start: Instant) {
        if !self.publishing || !self.connected || self.silent {
            return;
        }
        let next = self.next_audio.get_or_insert(now);
        if self.sending.audio && now >= *next {
            *next += AUDIO_EVERY;
            let ticks = (now - start).as_micros() as u64 * 48 / 1000;
            let time = MediaTime::new(ticks, Frequency::FORTY_EIGHT_KHZ);
            let (rtc, mid) = (&mut self.rtc, self.audio_mid);
            write(rtc, mid, Codec::Opus, now, time, vec![0xfc; 80]);
        }
        let next = self.next_video.get_or_insert(now);
        if self.sending.video && now >= *next {
            *next += VIDEO_EVERY;
            let key = self.video_frames_sent == 0
                || std::mem::take(&mut self.force_keyframe)
                || self
                    .keyframe_every
                    .is_some_and(|n| self.video_frames_sent % n == 0);
            let mut frame = vec![0x5a; if key { KEYFRAME_BYTES } else { DELTA_BYTES }];
            frame[0] = if key { 0x00 } else { 0x01 };
            let time = MediaTime::from_90khz((now - start).as_micros() as u64 * 9 / 100);
            write(&mut self.rtc, self.video_mid, Codec::Vp8, now, time, frame);
            self.video_frames_sent += 1;
            self.keyframes_sent += u64::from(key);
        }
    }
}

fn write(rtc: &mut Rtc, mid: Mid, codec: Codec, now: Instant, time: MediaTime, data: Vec<u8>) {
    let writer = rtc.writer(mid).expect("own m-line has a writer");
    let pt = writer
        .payload_params()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .expect("codec negotiated");
    writer.write(pt, now, time, data).expect("write frame");
}

/// What a client sends. Students often join with the camera off, or only watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    pub audio: bool,
    pub video: bool,
}

impl Publish {
    pub const BOTH: Publish = Publish {
        audio: true,
        video: true,
    };
    pub const AUDIO: Publish = Publish {
        audio: true,
        video: false,
    };
    pub const NOTHING: Publish = Publish {
        audio: false,
        video: false,
    };
}

/// A client's first offer, before it is sent.
#[derive(Debug)]
pub struct ClientOffer {
    pub rtc: Rtc,
    pub offer: SdpOffer,
    pub pending: SdpPendingOffer,
    pub audio_mid: Mid,
    pub video_mid: Mid,
}

fn direction(sending: bool) -> Direction {
    if sending {
        Direction::SendOnly
    } else {
        Direction::Inactive
    }
}

/// A full-ICE client `Rtc` at `addr`, and its offer. Like the web client it always offers an audio
/// and a video m-line, `Inactive` for what `publish` leaves out (no device, camera off).
pub fn client_offer(
    config: RtcConfig,
    addr: SocketAddr,
    now: Instant,
    publish: Publish,
) -> ClientOffer {
    let mut rtc = config.build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
    let mut api = rtc.sdp_api();
    let mut add = |kind, sending| {
        let stream = Some("cam".to_string());
        api.add_media(kind, direction(sending), stream, None, None)
    };
    let audio_mid = add(MediaKind::Audio, publish.audio);
    let video_mid = add(MediaKind::Video, publish.video);
    let (offer, pending) = api.apply().expect("offer has changes");
    ClientOffer {
        rtc,
        offer,
        pending,
        audio_mid,
        video_mid,
    }
}

/// The shard core and its clients on one simulated network.
#[derive(Debug)]
pub struct Net {
    pub core: ShardCore,
    pub start: Instant,
    pub now: Instant,
    /// How far one tick advances the clock.
    pub step: Duration,
    core_timeout: Instant,
    pub clients: BTreeMap<usize, Client>,
    by_id: HashMap<ParticipantId, usize>,
    by_addr: HashMap<SocketAddr, usize>,
    next_index: usize,
    /// One-way delay of every datagram (0: a LAN so fast that a handshake fits in one instant).
    pub latency: Duration,
    /// Datagrams in flight, in sending order: when they arrive, the client's address, the bytes.
    to_server: VecDeque<(Instant, SocketAddr, Vec<u8>)>,
    to_client: VecDeque<(Instant, SocketAddr, Vec<u8>)>,
    commands: VecDeque<Command>,
    /// Events about participants that have no client here (rejected joins, departed ones).
    pub orphan_events: Vec<(ParticipantId, MediaEvent)>,
    /// Datagrams for an address with no listening client.
    pub undeliverable: u64,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    pub fn new() -> Self {
        init();
        let now = Instant::now();
        Net {
            core: ShardCore::new(SERVER, now),
            start: now,
            now,
            step: Duration::from_millis(5),
            core_timeout: now,
            clients: BTreeMap::new(),
            by_id: HashMap::new(),
            by_addr: HashMap::new(),
            next_index: 0,
            latency: Duration::ZERO,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            commands: VecDeque::new(),
            orphan_events: Vec::new(),
            undeliverable: 0,
        }
    }

    pub fn client(&self, index: usize) -> &Client {
        &self.clients[&index]
    }

    pub fn client_mut(&mut self, index: usize) -> &mut Client {
        self.clients.get_mut(&index).expect("client exists")
    }

    /// A new client (participant id = index + 1) offers audio+video to `room`; the answer is applied
    /// as soon as the core gives it. Returns the client's index.
    pub fn join(&mut self, room: u64) -> usize {
        self.join_as(room, Publish::BOTH)
    }

    /// Like [`Net::join`], publishing only what `publish` says.
    pub fn join_as(&mut self, room: u64, publish: Publish) -> usize {
        let index = self.join_queued(room, publish);
        self.flush();
        index
    }

    /// Creates the client and queues its `Join` without running the network, so that a following
    /// command reaches the core before any answer or datagram does.
    pub fn join_queued(&mut self, room: u64, publish: Publish) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        let id = ParticipantId(index as u64 + 1);
        // Ports above the server's, one per client ever created (a churn test makes thousands).
        let addr = SocketAddr::from(([127, 0, 0, 1], 41000 + (index % 24000) as u16));
        let ClientOffer {
            rtc,
            offer,
            pending,
            audio_mid,
            video_mid,
        } = client_offer(Rtc::builder(), addr, self.now, publish);
        let client = Client {
            id,
            room: RoomId(room),
            addr,
            rtc,
            timeout: self.now,
            audio_mid,
            video_mid,
            sending: publish,
            pending: Some(pending),
            hold_offers: false,
            held_offers: VecDeque::new(),
            publishing: true,
            keyframe_every: None,
            force_keyframe: false,
            video_frames_sent: 0,
            keyframes_sent: 0,
            next_audio: None,
            next_video: None,
            connected: false,
            tracks: HashMap::new(),
            received: HashMap::new(),
            unannounced_frames: 0,
            keyframe_requests: HashMap::new(),
            events: Vec::new(),
            silent: false,
            loss_up: Loss::default(),
            loss_down: Loss::default(),
        };
        self.clients.insert(index, client);
        self.by_id.insert(id, index);
        self.by_addr.insert(addr, index);
        self.commands.push_back(Command::Join {
            room: RoomId(room),
            participant: id,
            offer: offer.to_sdp_string(),
        });
        index
    }

    /// The client leaves with `Command::Leave`; its `Rtc` is dropped.
    pub fn leave(&mut self, index: usize) {
        let client = self.clients.remove(&index).expect("client exists");
        self.by_id.remove(&client.id);
        self.by_addr.remove(&client.addr);
        self.command(Command::Leave {
            participant: client.id,
        });
    }

    /// The client vanishes without a word: its datagrams stop both ways.
    pub fn vanish(&mut self, index: usize) {
        self.client_mut(index).silent = true;
    }

    /// The client changes its own session (publishes or stops a track) and sends the offer with
    /// `Command::Offer`. Returns what the change closure returned.
    pub fn renegotiate<R>(&mut self, index: usize, change: impl FnOnce(&mut SdpApi) -> R) -> R {
        let client = self.client_mut(index);
        let mut api = client.rtc.sdp_api();
        let result = change(&mut api);
        let (offer, pending) = api.apply().expect("the change needs an offer");
        client.pending = Some(pending);
        let participant = client.id;
        self.command(Command::Offer {
            participant,
            sdp: offer.to_sdp_string(),
        });
        result
    }

    /// The client starts or stops sending audio or video (the camera button): a direction change
    /// on its own m-lines and an offer, as the web client does it.
    pub fn set_sending(&mut self, index: usize, publish: Publish) {
        let client = self.client_mut(index);
        let (audio, video) = (client.audio_mid, client.video_mid);
        client.sending = publish;
        self.renegotiate(index, |api| {
            api.set_direction(audio, direction(publish.audio));
            api.set_direction(video, direction(publish.video));
        });
    }

    /// Answers the offers `index` was holding back.
    pub fn release_offers(&mut self, index: usize) {
        let client = self.client_mut(index);
        client.hold_offers = false;
        let offers: Vec<_> = client.held_offers.drain(..).collect();
        for sdp in offers {
            self.answer(index, &sdp);
        }
        self.flush();
    }

    /// Hands a command to the core and runs the network until it is quiet again.
    pub fn command(&mut self, command: Command) {
        self.commands.push_back(command);
        self.flush();
    }

    /// Feeds one raw datagram to the core, as if it arrived from `source`.
    pub fn inject(&mut self, source: SocketAddr, contents: &[u8]) {
        let input = Input::Datagram {
            source,
            destination: SERVER,
            contents,
        };
        self.core.handle_input(self.now, input);
        self.flush();
    }

    /// Runs the network for `duration` of simulated time.
    pub fn progress(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.tick();
        }
    }

    /// Ticks until `done` holds or `limit` of simulated time passed. Returns the time it took.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Net) -> bool,
    ) -> Option<Duration> {
        let begin = self.now;
        while !done(self) {
            if self.now - begin >= limit {
                return None;
            }
            self.tick();
        }
        Some(self.now - begin)
    }

    /// Until every client is connected, both as str0m sees it and as the core reported it.
    pub fn connect_all(&mut self) -> Duration {
        let all = |net: &Net| {
            net.clients
                .values()
                .filter(|c| !c.silent)
                .all(|c| c.connected && c.saw(&MediaEvent::Connected))
        };
        self.run_until(Duration::from_secs(10), all)
            .expect("every client connects within 10 s")
    }

    /// One step of the clock: due timeouts, due frames, then the network until quiet.
    pub fn tick(&mut self) {
        self.now += self.step;
        let (now, start) = (self.now, self.start);
        for client in self.clients.values_mut() {
            client.write_media(now, start);
        }
        self.flush();
    }

    /// Delivers everything in flight and feeds due timeouts until nothing is left to do now.
    pub fn flush(&mut self) {
        for _ in 0..MAX_ROUNDS_PER_TICK {
            let mut busy = false;
            while let Some(command) = self.commands.pop_front() {
                self.core.handle_input(self.now, Input::Command(command));
                busy = true;
            }
            if self.core_timeout <= self.now {
                self.core.handle_input(self.now, Input::Timeout);
                busy = true;
            }
            while let Some((_, source, contents)) = pop_due(&mut self.to_server, self.now) {
                let input = Input::Datagram {
                    source,
                    destination: SERVER,
                    contents: &contents,
                };
                self.core.handle_input(self.now, input);
                busy = true;
            }
            self.drain_core();
            busy |= self.feed_clients();
            let due = |q: &VecDeque<(Instant, _, _)>| q.front().is_some_and(|d| d.0 <= self.now);
            if !busy && !due(&self.to_client) && !due(&self.to_server) && self.commands.is_empty() {
                return;
            }
        }
    }

    fn drain_core(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) => {
                    assert_eq!(t.source, SERVER, "the core sends only from its socket");
                    let at = self.now + self.latency;
                    self.to_client
                        .push_back((at, t.destination, t.contents.into()));
                }
                Output::Event(id, event) => self.on_core_event(id, event),
                Output::Timeout(at) => {
                    self.core_timeout = at;
                    return;
                }
            }
        }
    }

    /// Delivers datagrams to clients, feeds their due timeouts and collects what they send.
    fn feed_clients(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        while let Some((_, destination, contents)) = pop_due(&mut self.to_client, now) {
            let client = self
                .by_addr
                .get(&destination)
                .and_then(|i| self.clients.get_mut(i));
            let Some(client) = client.filter(|c| !c.silent) else {
                self.undeliverable += 1;
                continue;
            };
            if client.loss_down.lose() {
                continue;
            }
            let receive =
                Receive::new(Protocol::Udp, SERVER, destination, &contents).expect("datagram");
            if let Err(e) = client.rtc.handle_input(str0m::Input::Receive(now, receive)) {
                panic!("client {} refused a datagram from the core: {e}", client.id);
            }
            busy = true;
        }
        for client in self.clients.values_mut().filter(|c| !c.silent) {
            if client.timeout <= now {
                client
                    .rtc
                    .handle_input(str0m::Input::Timeout(now))
                    .expect("client timeout");
                busy = true;
            }
            loop {
                match client.rtc.poll_output().expect("client poll") {
                    str0m::Output::Timeout(at) => {
                        client.timeout = at;
                        break;
                    }
                    str0m::Output::Transmit(t) => {
                        if t.destination == SERVER && !client.loss_up.lose() {
                            let at = now + self.latency;
                            self.to_server.push_back((at, t.source, t.contents.into()));
                        }
                    }
                    str0m::Output::Event(event) => client.on_event(event),
                }
            }
        }
        busy
    }

    fn on_core_event(&mut self, id: ParticipantId, event: MediaEvent) {
        let Some(&index) = self.by_id.get(&id) else {
            self.orphan_events.push((id, event));
            return;
        };
        let client = self.clients.get_mut(&index).expect("indexed client");
        client.events.push(event.clone());
        match event {
            MediaEvent::Answer { sdp } => {
                let pending = client.pending.take().expect("an answer only to our offer");
                let answer = SdpAnswer::from_sdp_string(&sdp).expect("answer parses");
                client
                    .rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .expect("answer accepted");
            }
            MediaEvent::Offer { sdp } if client.hold_offers => client.held_offers.push_back(sdp),
            MediaEvent::Offer { sdp } => self.answer(index, &sdp),
            MediaEvent::TrackAdded {
                mid,
                publisher,
                kind,
            } => {
                client
                    .tracks
                    .insert(Mid::from(mid.as_str()), (publisher, kind));
            }
            MediaEvent::TrackRemoved { mid } => {
                client.tracks.remove(&Mid::from(mid.as_str()));
            }
            _ => {}
        }
    }

    /// The client answers a server offer, as a browser's signalling code would.
    fn answer(&mut self, index: usize, sdp: &str) {
        let client = self.clients.get_mut(&index).expect("client exists");
        let offer = SdpOffer::from_sdp_string(sdp).expect("server offer parses");
        let answer = client
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("client accepts offer");
        let participant = client.id;
        self.commands.push_back(Command::Answer {
            participant,
            sdp: answer.to_sdp_string(),
        });
    }
}

fn pop_due<T>(
    queue: &mut VecDeque<(Instant, T, Vec<u8>)>,
    now: Instant,
) -> Option<(Instant, T, Vec<u8>)> {
    if queue.front()?.0 <= now {
        queue.pop_front()
    } else {
        None
    }
}

/// SplitMix64: a tiny seeded generator whose sequence never changes with a dependency upgrade.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
