//! A simulated network for the sans-IO shard core: no sockets, no threads, no wall clock.
//!
//! One [`ShardCore`] listens at [`SERVER`]; every client is a full-ICE str0m `Rtc` with a host
//! candidate on its own loopback port, playing the browser. Time starts at `Instant::now()` and only
//! moves when the harness ticks, so a test's outcome depends on the code and not on the machine.
//! Each tick feeds due timeouts to both sides, lets publishers write frames, then shuttles every
//! datagram and signalling message until the network is quiet.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

mod client;
mod rng;
mod signalling;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use sfu::core::{Input, Output, ShardCore};
use sfu::{Command, MediaEvent, ParticipantId, RoomId, TrackSource};
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::net::{Protocol, Receive};
use str0m::{Rtc, RtcConfig};

// Re-exported for the tests; no single test binary uses all of them.
#[allow(unused_imports)]
pub use client::{
    client_offer, client_offer_with, Client, ClientOffer, Loss, Publish, Received, LAYER_FILL,
};
#[allow(unused_imports)]
pub use rng::Rng;

/// The shard's socket, as advertised in its ICE candidate.
pub const SERVER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000);
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
    /// Flushes that gave up after `MAX_ROUNDS_PER_TICK` rounds (a side asking to be woken again
    /// at the same instant, over and over); what was left runs on the next tick.
    pub stalls: u64,
    /// One DTLS certificate for every client: making a key pair per client would dominate the
    /// run time of the churn test, and the core sees a fresh session either way.
    client_cert: Option<DtlsCert>,
    /// The video codec the next clients publish (and the only one they offer when it is H.264,
    /// like a device whose browser offers only a hardware H.264 encoder).
    pub video_codec: Codec,
    /// What the next clients declare their video m-line to carry (`None`: nothing declared,
    /// which the core takes for a camera).
    pub video_source: Option<TrackSource>,
    /// Whether the next clients' cameras send simulcast.
    pub simulcast: bool,
    /// Whether the next clients run str0m in RTP mode: they record every RTP packet that reaches
    /// them ([`Client::rtp_in`]) and write nothing by themselves (the test writes their packets).
    pub rtp_mode: bool,
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
            stalls: 0,
            client_cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
            video_codec: Codec::Vp8,
            video_source: None,
            simulcast: false,
            rtp_mode: false,
        }
    }

    /// The `RtcConfig` every client starts from.
    pub fn client_config(&self) -> RtcConfig {
        let config = match self.video_codec {
            Codec::H264 => Rtc::builder()
                .clear_codecs()
                .enable_opus(true, false)
                .enable_h264(true),
            _ => Rtc::builder(),
        };
        let config = config.set_rtp_mode(self.rtp_mode);
        match &self.client_cert {
            Some(cert) => config.set_dtls_cert(cert.clone()),
            None => config,
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
        } = client_offer_with(
            self.client_config(),
            addr,
            self.now,
            publish,
            self.simulcast,
        );
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
            publishing: !self.rtp_mode,
            rtp_mode: self.rtp_mode,
            video_codec: self.video_codec,
            keyframe_every: None,
            audio_level: None,
            simulcast: self.simulcast,
            last_video_fill: HashMap::new(),
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
            rtp_in: Vec::new(),
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
            offer: sfu::ClientOffer::parse(&offer.to_sdp_string()).expect("client offer parses"),
            sources: self
                .video_source
                .map(|source| (video_mid.to_string(), source))
                .into_iter()
                .collect(),
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
        self.stalls += 1;
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
            if client.rtp_mode {
                // str0m holds one received RTP packet until it is polled out.
                poll_client(client, now, self.latency, &mut self.to_server);
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
            poll_client(client, now, self.latency, &mut self.to_server);
        }
        busy
    }
}

/// Polls a client until its next timeout: events to it, datagrams for the server in flight.
fn poll_client(
    client: &mut Client,
    now: Instant,
    latency: Duration,
    to_server: &mut VecDeque<(Instant, SocketAddr, Vec<u8>)>,
) {
    loop {
        match client.rtc.poll_output().expect("client poll") {
            str0m::Output::Timeout(at) => {
                client.timeout = at;
                break;
            }
            str0m::Output::Transmit(t) => {
                if t.destination == SERVER && !client.loss_up.lose() {
                    to_server.push_back((now + latency, t.source, t.contents.into()));
                }
            }
            str0m::Output::Event(event) => client.on_event(event),
        }
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
