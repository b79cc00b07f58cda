//! A participant made of a str0m `Rtc`: real signalling over the WebSocket, real ICE, DTLS and
//! SRTP over UDP loopback, or over ICE-TCP (RFC 4571 framing) to the server's passive TCP
//! candidate. It publishes a mic (Opus-sized frames every 20 ms) and a camera
//! (VP8-shaped frames at 30 fps with a keyframe every second) and counts what it receives.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use signaling::Server;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite::tungstenite::Message;

use super::{Class, Client};

const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(33);

/// What one peer received from one publisher.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub audio_frames: u64,
    pub video_frames: u64,
    pub video_keyframes: u64,
}

/// How a peer's media travels.
enum Link {
    Udp(UdpSocket),
    /// ICE-TCP: connected once the server's answer names its passive TCP candidate.
    Tcp {
        ip: IpAddr,
        stream: Option<TcpStream>,
        /// Bytes read and not yet cut into frames.
        inbound: Vec<u8>,
        /// Asks the kernel for a tiny receive buffer (a reader that falls behind shows at once).
        small_receive_buffer: bool,
    },
}

/// Which transport a peer's media uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

pub struct Peer {
    pub id: String,
    pub resume_token: String,
    client: Client,
    rtc: Rtc,
    link: Link,
    local: SocketAddr,
    /// Set on a TCP peer that stops reading its connection (a slow reader).
    pub stop_reading: bool,
    pending: Option<SdpPendingOffer>,
    /// A host candidate to add once the pending offer (an ICE restart) is answered: accepting
    /// the answer applies the restart, which clears the local candidates.
    candidate_after_answer: Option<Candidate>,
    audio_mid: Mid,
    video_mid: Mid,
    /// mid of a received track → publisher id
    track_owner: HashMap<String, String>,
    /// mid of a received track → its source ("mic", "camera", "screen")
    pub track_source: HashMap<String, String>,
    pub received: HashMap<String, Received>,
    pub keyframe_requests: u64,
    pub connected: bool,
    /// Longest SDP offer the server sent (m-lines must be recycled, not piled up).
    pub max_offer_len: usize,
    pub offers_received: u64,
    /// Ids of participants the server said left.
    pub left: Vec<String>,
    next_audio: Instant,
    next_video: Instant,
    frames_sent: u64,
    started: Instant,
}

impl Peer {
    /// Joins `class` with `token` and sends the publishing offer.
    pub async fn join(server: &Server, class: &Class, token: &str, name: &str) -> Peer {
        Self::join_declaring(server, class, token, name, None).await
    }

    /// Joins like [`Peer::join`], declaring its video m-line as `video_source` (e.g. "screen":
    /// it shares its screen instead of a camera).
    pub async fn join_declaring(
        server: &Server,
        class: &Class,
        token: &str,
        name: &str,
        video_source: Option<&str>,
    ) -> Peer {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self::join_from(server, class, token, name, video_source, loopback).await
    }

    /// Joins like [`Peer::join`], its media over ICE-TCP only: its offer has no candidate, and
    /// once the answer arrives it connects to the server's TCP candidate (as a browser whose UDP
    /// is blocked does).
    pub async fn join_over_tcp(server: &Server, class: &Class, token: &str, name: &str) -> Peer {
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self::join_with(server, class, token, name, None, loopback, Transport::Tcp).await
    }

    /// Joins like [`Peer::join_declaring`], with its signalling and media from address `ip` (any
    /// loopback address, e.g. 127.0.0.77: a test can then tell this peer's address apart).
    pub async fn join_from(
        server: &Server,
        class: &Class,
        token: &str,
        name: &str,
        video_source: Option<&str>,
        ip: IpAddr,
    ) -> Peer {
        Self::join_with(server, class, token, name, video_source, ip, Transport::Udp).await
    }

    async fn join_with(
        server: &Server,
        class: &Class,
        token: &str,
        name: &str,
        video_source: Option<&str>,
        ip: IpAddr,
        transport: Transport,
    ) -> Peer {
        let mut client = Client::connect_bound(server, ip).await;
        let welcome = client.join(class, token, name).await;
        let id = welcome["you"]["id"].as_str().expect("id").to_owned();
        let resume_token = welcome["resume_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let now = Instant::now();
        let mut rtc = Rtc::builder().build(now);
        let (link, local) = match transport {
            Transport::Udp => {
                let socket = UdpSocket::bind((ip, 0)).await.expect("udp bind");
                let local = socket.local_addr().expect("local addr");
                rtc.add_local_candidate(Candidate::host(local, "udp").expect("candidate"));
                (Link::Udp(socket), local)
            }
            Transport::Tcp => {
                let link = Link::Tcp {
                    ip,
                    stream: None,
                    inbound: Vec::new(),
                    small_receive_buffer: false,
                };
                (link, SocketAddr::new(ip, 9))
            }
        };
        let mut change = rtc.sdp_api();
        let audio_mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video_mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().expect("offer");
        let mut sources = serde_json::Map::new();
        if let Some(source) = video_source {
            sources.insert(video_mid.to_string(), json!(source));
        }
        client
            .send(json!({"type": "offer", "sdp": offer.to_sdp_string(), "sources": sources}))
            .await;
        Peer {
            id,
            resume_token,
            client,
            rtc,
            link,
            local,
            stop_reading: false,
            pending: Some(pending),
            candidate_after_answer: None,
            audio_mid,
            video_mid,
            track_owner: HashMap::new(),
            track_source: HashMap::new(),
            received: HashMap::new(),
            keyframe_requests: 0,
            connected: false,
            max_offer_len: 0,
            offers_received: 0,
            left: Vec::new(),
            next_audio: now,
            next_video: now,
            frames_sent: 0,
            started: now,
        }
    }

    /// Drives the peer (signalling, network, media) for `duration`.
    pub async fn run_for(&mut self, duration: Duration) {
        self.run_until(Instant::now() + duration, &AtomicBool::new(false))
            .await;
    }

    /// Drives the peer until ICE and DTLS are up, for at most `limit` (a bound for a loaded
    /// machine, not a speed claim). Returns whether it connected.
    pub async fn run_until_connected(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.connected && Instant::now() < deadline {
            self.run_for(Duration::from_millis(50)).await;
        }
        self.connected
    }

    /// Drives the peer until `until`, or until `stop` is set.
    pub async fn run_until(&mut self, until: Instant, stop: &AtomicBool) {
        let mut buf = vec![0u8; 2048];
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            let timeout = self.poll_rtc().await;
            // Wake at least every 50 ms to look at `stop`.
            let wake = timeout
                .min(self.next_audio)
                .min(self.next_video)
                .min(until)
                .min(Instant::now() + Duration::from_millis(50));
            tokio::select! {
                frame = self.client.ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(&text).expect("json");
                        self.on_signal(value).await;
                    }
                    Some(Ok(_)) => {}
                    _ => panic!("{}: signalling closed", self.id),
                },
                received = receive(&mut self.link, &mut buf, self.stop_reading) => {
                    let Some((proto, source, n)) = received else {
                        continue;
                    };
                    let receive = Receive::new(proto, source, self.local, &buf[..n])
                        .expect("server sends valid datagrams");
                    self.rtc
                        .handle_input(Input::Receive(Instant::now(), receive))
                        .expect("rtc input");
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    self.rtc.handle_input(Input::Timeout(now)).expect("rtc timeout");
                    self.send_media(now);
                }
            }
        }
    }

    /// Leaves the class properly.
    pub async fn leave(mut self) {
        self.client.send(json!({"type": "leave"})).await;
        let _ = self.client.expect_type("bye").await;
    }

    /// Stops answering on the network (as a laptop closed mid-class would) while keeping the
    /// signalling socket, and waits for the server's `bye`. Returns how long it took.
    pub async fn vanish_and_wait_for_bye(mut self, limit: Duration) -> Option<(Duration, Value)> {
        let started = Instant::now();
        drop(self.link);
        loop {
            let left = limit.checked_sub(started.elapsed())?;
            let frame = tokio::time::timeout(left, self.client.ws.next())
                .await
                .ok()??;
            if let Ok(Message::Text(text)) = frame {
                let value: Value = serde_json::from_str(&text).ok()?;
                if value["type"] == "bye" {
                    return Some((started.elapsed(), value));
                }
            }
        }
    }

    /// Drops the signalling socket (as a flaky Wi-Fi would) and comes back on a new one with
    /// `resume`. Returns the `resumed` message.
    pub async fn drop_and_resume(&mut self, server: &Server, class: &Class) -> Value {
        let old = std::mem::replace(&mut self.client, Client::connect(server).await);
        drop(old);
        self.client
            .send(json!({"type": "resume", "version": 1, "room": class.room, "token": self.resume_token, "last_chat_seq": 0}))
            .await;
        self.client.expect_type("resumed").await
    }

    /// Moves to a new local address (Wi-Fi to 4G) and restarts ICE with a new offer, as a browser
    /// does after `resumed` with `media: "kept"`.
    pub async fn move_and_restart_ice(&mut self) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("udp bind");
        let local = socket.local_addr().expect("local addr");
        self.link = Link::Udp(socket);
        self.local = local;
        let mut change = self.rtc.sdp_api();
        change.ice_restart(false);
        let (offer, pending) = change.apply().expect("an ICE restart needs an offer");
        self.pending = Some(pending);
        self.candidate_after_answer = Some(Candidate::host(local, "udp").expect("candidate"));
        self.client
            .send(json!({"type": "offer", "sdp": offer.to_sdp_string()}))
            .await;
    }

    /// For a TCP peer not yet connected: its connection gets a tiny kernel receive buffer, so
    /// once it sets `stop_reading` the server's queue for it fills in seconds, not minutes.
    pub fn read_slowly(&mut self) {
        if let Link::Tcp {
            small_receive_buffer,
            ..
        } = &mut self.link
        {
            *small_receive_buffer = true;
        }
    }

    /// Sends a signalling message.
    pub async fn send(&mut self, value: Value) {
        self.client.send(value).await;
    }

    /// What this peer got from `publisher`.
    pub fn from(&self, publisher: &str) -> Received {
        self.received.get(publisher).copied().unwrap_or_default()
    }

    async fn poll_rtc(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output().expect("rtc output") {
                Output::Timeout(t) => return t,
                Output::Transmit(t) => send(&mut self.link, &t.contents, t.destination).await,
                Output::Event(event) => self.on_event(event),
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected = true,
            Event::MediaData(data) => {
                let owner = self
                    .track_owner
                    .get(&data.mid.to_string())
                    .cloned()
                    .unwrap_or_else(|| "unknown".into());
                let entry = self.received.entry(owner).or_default();
                if data.params.spec().codec == Codec::Opus {
                    entry.audio_frames += 1;
                } else {
                    entry.video_frames += 1;
                    if data.data.first().is_some_and(|b| b & 1 == 0) {
                        entry.video_keyframes += 1;
                    }
                }
            }
            Event::KeyframeRequest(_) => {
                self.keyframe_requests += 1;
                // Answer with a keyframe right away, as a browser would.
                self.frames_sent = 0;
            }
            _ => {}
        }
    }

    async fn on_signal(&mut self, message: Value) {
        match message["type"].as_str() {
            Some("answer") => {
                let answer =
                    SdpAnswer::from_sdp_string(message["sdp"].as_str().expect("sdp")).expect("sdp");
                let pending = self.pending.take().expect("an offer was pending");
                self.rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .expect("answer accepted");
                if let Some(candidate) = self.candidate_after_answer.take() {
                    self.rtc.add_local_candidate(candidate);
                }
                let sdp = message["sdp"].as_str().unwrap_or_default();
                if let Some(local) = connect_tcp(&mut self.link, sdp).await {
                    self.local = local;
                    let candidate = Candidate::builder()
                        .tcp()
                        .host(local)
                        .tcptype(TcpType::Active)
                        .build()
                        .expect("tcp candidate");
                    self.rtc.add_local_candidate(candidate);
                }
            }
            Some("offer") => {
                let sdp_len = message["sdp"].as_str().map_or(0, str::len);
                self.max_offer_len = self.max_offer_len.max(sdp_len);
                self.offers_received += 1;
                let offer =
                    SdpOffer::from_sdp_string(message["sdp"].as_str().expect("sdp")).expect("sdp");
                let answer = self
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .expect("offer accepted");
                self.client
                    .send(json!({"type": "answer", "sdp": answer.to_sdp_string()}))
                    .await;
            }
            Some("track_added") => {
                let mid = message["mid"].as_str().expect("mid").to_owned();
                let owner = message["participant"]
                    .as_str()
                    .expect("participant")
                    .to_owned();
                let source = message["source"].as_str().unwrap_or_default().to_owned();
                self.track_source.insert(mid.clone(), source);
                self.track_owner.insert(mid, owner);
            }
            Some("participant_left") => {
                self.left
                    .push(message["id"].as_str().unwrap_or_default().to_owned());
            }
            Some("error") => panic!("{}: server error {message}", self.id),
            _ => {}
        }
    }

    fn send_media(&mut self, now: Instant) {
        if !self.connected {
            return;
        }
        let elapsed = now.saturating_duration_since(self.started);
        if now >= self.next_audio {
            self.next_audio = now + AUDIO_EVERY;
            let rtp = MediaTime::new(
                elapsed.as_micros() as u64 * 48 / 1000,
                Frequency::FORTY_EIGHT_KHZ,
            );
            self.write(self.audio_mid, Codec::Opus, rtp, vec![0xF8; 80]);
        }
        if now >= self.next_video {
            self.next_video = now + VIDEO_EVERY;
            let keyframe = self.frames_sent % 30 == 0;
            self.frames_sent += 1;
            let mut frame = vec![0x55u8; 1200];
            frame[0] = if keyframe { 0x10 } else { 0x11 };
            let rtp = MediaTime::from_90khz(elapsed.as_micros() as u64 * 90 / 1000);
            self.write(self.video_mid, Codec::Vp8, rtp, frame);
        }
    }

    fn write(&mut self, mid: Mid, codec: Codec, time: MediaTime, data: Vec<u8>) {
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt())
        else {
            return;
        };
        let _ = writer.write(pt, Instant::now(), time, data);
    }
}

/// The next packet from the network: a datagram, or a whole RFC 4571 frame. `None` when the
/// bytes read did not complete one.
async fn receive(
    link: &mut Link,
    buf: &mut [u8],
    stop_reading: bool,
) -> Option<(Protocol, SocketAddr, usize)> {
    match link {
        Link::Udp(socket) => {
            let (n, source) = socket.recv_from(buf).await.expect("udp recv");
            Some((Protocol::Udp, source, n))
        }
        Link::Tcp {
            stream: Some(stream),
            inbound,
            ..
        } if !stop_reading => {
            if let Some(n) = take_frame(inbound, buf) {
                return Some((Protocol::Tcp, stream.peer_addr().ok()?, n));
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("tcp read");
            assert!(n > 0, "the server closed the ICE-TCP connection");
            inbound.extend_from_slice(&chunk[..n]);
            let n = take_frame(inbound, buf)?;
            Some((Protocol::Tcp, stream.peer_addr().ok()?, n))
        }
        Link::Tcp { .. } => std::future::pending().await,
    }
}

/// Cuts one RFC 4571 frame (a two-byte length, then the packet) off `inbound` into `buf`.
fn take_frame(inbound: &mut Vec<u8>, buf: &mut [u8]) -> Option<usize> {
    let len = usize::from(u16::from_be_bytes([*inbound.first()?, *inbound.get(1)?]));
    if inbound.len() < 2 + len {
        return None;
    }
    buf[..len].copy_from_slice(&inbound[2..2 + len]);
    inbound.drain(..2 + len);
    Some(len)
}

async fn send(link: &mut Link, packet: &[u8], destination: SocketAddr) {
    match link {
        Link::Udp(socket) => {
            let _ = socket.send_to(packet, destination).await;
        }
        Link::Tcp {
            stream: Some(stream),
            ..
        } => {
            let mut frame = (packet.len() as u16).to_be_bytes().to_vec();
            frame.extend_from_slice(packet);
            let _ = stream.write_all(&frame).await;
        }
        Link::Tcp { .. } => {}
    }
}

/// For a TCP link not yet connected: connects to the passive TCP candidate in the server's
/// `sdp` and returns the connection's local address.
async fn connect_tcp(link: &mut Link, sdp: &str) -> Option<SocketAddr> {
    let Link::Tcp {
        ip,
        stream,
        small_receive_buffer,
        ..
    } = link
    else {
        return None;
    };
    if stream.is_some() {
        return None;
    }
    let server = sdp.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let passive = fields.get(2) == Some(&"tcp") && line.contains("tcptype passive");
        let addr = format!("{}:{}", fields.get(4)?, fields.get(5)?);
        let addr: SocketAddr = addr.parse().ok()?;
        (passive && addr.ip() == *ip).then_some(addr)
    })?;
    let socket = tokio::net::TcpSocket::new_v4().expect("tcp socket");
    socket.bind(SocketAddr::new(*ip, 0)).expect("tcp bind");
    if *small_receive_buffer {
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    }
    let connected = socket.connect(server).await.expect("tcp connect");
    let local = connected.local_addr().expect("local addr");
    *stream = Some(connected);
    Some(local)
}

/// A server with one shard and a class where a teacher and a pupil peer have joined and exchanged
/// media for 2 s. Returns `(server, class, teacher, pupil)`; both must have connected.
#[allow(dead_code)] // Each test binary uses part of this module.
pub async fn teacher_and_pupil_connected() -> (Server, super::Class, Peer, Peer) {
    let mut config = super::test_config();
    config.media.shards = 1;
    let server = super::start(config).await;
    let class = super::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join(&server, &class, &class.pupil_token, "Pupil").await;
    tokio::join!(
        teacher.run_for(Duration::from_secs(2)),
        pupil.run_for(Duration::from_secs(2))
    );
    assert!(teacher.connected && pupil.connected);
    (server, class, teacher, pupil)
}
