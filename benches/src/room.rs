//! One class on a shard core: a publisher (the teacher, audio and video) and `n` subscribers (pupils
//! watching with camera and microphone off, as the web client offers them: both m-lines
//! `inactive`). Every peer is a full-ICE str0m `Rtc`, connected to the core through ICE, DTLS and
//! SDP exactly as in the sfu test harness, on a zero-latency network with a simulated clock.
//!
//! The media path is split in two for measuring: [`Room::prepare`] moves the clock, runs everything
//! that is due (timeouts, RTCP, STUN consent), then has the publisher write one frame and returns
//! its SRTP datagrams; [`Room::forward`] is the shard's work on them (`handle_input(Datagram)`,
//! `poll_output` until it times out, and the due `Input::Timeout`), the part a benchmark times.
//! The media the core sends to the subscribers is counted and dropped, as a socket would take it;
//! whatever else it sends (RTCP, STUN answers) is delivered by the next `prepare`, so the sessions
//! stay alive indefinitely.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sfu::core::{Input, Output, ShardCore};
use sfu::{Command, MediaEvent, ParticipantId, RoomId};
use str0m::media::MediaKind;
use str0m::rtp::RtpWrite;

use crate::peer::{Peer, FIRST_PORT};
use crate::{init, is_rtp, SERVER};

const ROOM: RoomId = RoomId(1);
/// How often one `pump` may go round before it gives up on a side that keeps itself busy.
const MAX_ROUNDS: usize = 256;
/// How far the clock moves per step while the sessions come up.
const SETUP_STEP: Duration = Duration::from_millis(10);

/// Bytes of a VP8 frame per RTP packet (the frame is split as a browser's packetizer would).
const VP8_BYTES_PER_PACKET: usize = 1_100;

/// A frame the publisher writes. `bytes` is the encoded frame, packetized here (VP8 into packets
/// of at most [`VP8_BYTES_PER_PACKET`] bytes behind a descriptor like a browser's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A VP8 frame; the clock moves 40 ms (25 fps) before it is written.
    Video { bytes: usize },
    /// An Opus frame; the clock moves 20 ms before it is written.
    Audio { bytes: usize },
}

impl Frame {
    /// A delta frame that fits one ~1,100-byte SRTP datagram (the common case of a video stream).
    pub const VIDEO_ONE_PACKET: Frame = Frame::Video { bytes: 1_060 };
    /// A keyframe-sized frame of four datagrams.
    pub const VIDEO_FOUR_PACKETS: Frame = Frame::Video { bytes: 4_000 };
    /// 20 ms of Opus at ~32 kbit/s.
    pub const AUDIO: Frame = Frame::Audio { bytes: 80 };
}

/// A class on one shard core. See the module documentation.
#[derive(Debug)]
pub struct Room {
    pub core: ShardCore,
    /// The simulated clock.
    pub now: Instant,
    start: Instant,
    core_timeout: Instant,
    /// Peer 0 publishes; the others subscribe.
    peers: Vec<Peer>,
    commands: VecDeque<Command>,
    to_server: Vec<(SocketAddr, Vec<u8>)>,
    to_peers: Vec<(SocketAddr, Vec<u8>)>,
    core_events: Vec<(ParticipantId, MediaEvent)>,
    /// Media datagrams the core sent to subscribers (and that were dropped, as a socket takes them).
    pub media_sent: u64,
    /// `Input::Timeout`s that [`Room::forward`] had to feed for its media to leave.
    pub timeouts_in_forward: u64,
    /// The publisher's next sequence numbers (audio, video) and VP8 picture numbers.
    next_seq: (u64, u64),
    picture_id: u16,
    tl0_pic_idx: u8,
}

impl Room {
    /// A class with a connected publisher and `subscribers` connected pupils, each of them
    /// receiving the publisher's audio and video. Panics if the sessions do not come up.
    pub fn new(subscribers: usize) -> Room {
        init();
        let now = Instant::now();
        let mut room = Room {
            // The fan-out path alone: on this simulated network every datagram arrives in the
            // instant it is sent, so str0m's estimator would measure a zero round trip and
            // nothing else. What estimation and pacing cost is measured with the load test, over
            // real sockets (docs/MEDIA.md).
            core: ShardCore::new(SERVER, now).with_downlink_estimation(false),
            now,
            start: now,
            core_timeout: now,
            peers: Vec::new(),
            commands: VecDeque::new(),
            to_server: Vec::new(),
            to_peers: Vec::new(),
            core_events: Vec::new(),
            media_sent: 0,
            timeouts_in_forward: 0,
            next_seq: (1, 1),
            picture_id: 0x7f00,
            tl0_pic_idx: 0,
        };
        room.join(true);
        room.run_until(|r| r.peers[0].connected && r.peers[0].core_connected);
        for _ in 0..subscribers {
            room.join(false);
        }
        room.run_until(|r| {
            r.peers.iter().all(|p| p.connected && p.core_connected)
                && r.peers[1..].iter().all(|p| p.tracks_announced == 2)
        });
        // Let the keyframe requests of the joins and the first RTCP settle.
        for _ in 0..50 {
            room.step(SETUP_STEP);
        }
        // Subscribers start receiving video at a keyframe: send one, as a camera does first.
        let keyframe = room.prepare_frame(Frame::VIDEO_ONE_PACKET, true);
        room.forward(&keyframe);
        room
    }

    /// The number of subscribers.
    pub fn subscribers(&self) -> usize {
        self.peers.len() - 1
    }

    /// Moves the clock to the next frame, runs everything due, then has the publisher write
    /// `frame`. Returns the publisher's SRTP datagrams of that frame, not yet delivered.
    pub fn prepare(&mut self, frame: Frame) -> Vec<Vec<u8>> {
        self.prepare_frame(frame, false)
    }

    /// Like [`Room::prepare`]; a video frame is a keyframe when `key` is set.
    fn prepare_frame(&mut self, frame: Frame, key: bool) -> Vec<Vec<u8>> {
        let (interval, kind, bytes) = match frame {
            Frame::Video { bytes } => (Duration::from_millis(40), MediaKind::Video, bytes),
            Frame::Audio { bytes } => (Duration::from_millis(20), MediaKind::Audio, bytes),
        };
        self.step(interval);
        let (now, elapsed) = (self.now, self.now - self.start);
        let publisher = &mut self.peers[0];
        let mut api = publisher.rtc.direct_api();
        match kind {
            MediaKind::Video => {
                let (mid, pt) = publisher.video;
                let time = (elapsed.as_micros() as u64 * 9 / 100) as u32;
                let mut data = vec![0x5a; bytes];
                // VP8 frame tag: bit 0 clear on a keyframe.
                data[0] = if key { 0x00 } else { 0x01 };
                self.picture_id = (self.picture_id + 1) & 0x7fff;
                self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
                let stream = api.stream_tx_by_mid(mid, None).expect("video stream");
                let chunks = data.chunks(VP8_BYTES_PER_PACKET);
                let count = chunks.len();
                for (index, chunk) in chunks.enumerate() {
                    let start = if index == 0 { 0x10 } else { 0 };
                    // X, S; I, L, T; 15-bit PictureID; TL0PICIDX; TID 0, Y.
                    let mut payload = vec![
                        0x80 | start,
                        0xe0,
                        0x80 | (self.picture_id >> 8) as u8,
                        self.picture_id as u8,
                        self.tl0_pic_idx,
                        0x20,
                    ];
                    payload.extend_from_slice(chunk);
                    let seq = self.next_seq.1;
                    self.next_seq.1 += 1;
                    let write = RtpWrite::new(pt, seq.into(), time, now, payload)
                        .marker(index + 1 == count)
                        .nackable(true);
                    stream.write_rtp(write);
                }
            }
            MediaKind::Audio => {
                let (mid, pt) = publisher.audio;
                let time = (elapsed.as_micros() as u64 * 48 / 1000) as u32;
                let stream = api.stream_tx_by_mid(mid, None).expect("audio stream");
                let seq = self.next_seq.0;
                self.next_seq.0 += 1;
                stream.write_rtp(RtpWrite::new(pt, seq.into(), time, now, vec![0xfc; bytes]));
            }
        }
        // str0m sends what was written when it handles time.
        let timeout = str0m::Input::Timeout(now);
        publisher
            .rtc
            .handle_input(timeout)
            .expect("publisher timeout");
        let mut media = Vec::new();
        loop {
            match publisher.rtc.poll_output().expect("publisher poll") {
                str0m::Output::Transmit(t) if is_rtp(&t.contents) => media.push(t.contents.into()),
                str0m::Output::Transmit(t) => self.to_server.push((t.source, t.contents.into())),
                str0m::Output::Timeout(at) => {
                    publisher.timeout = at;
                    break;
                }
                str0m::Output::Event(_) => {}
            }
        }
        media
    }

    /// The shard's work on a publisher's datagrams: each is handed to the core, which is then
    /// drained, and given `Input::Timeout` while the deadline it names has come (it has, at once:
    /// str0m timestamps written RTP packets on a timeout). Returns how many media datagrams the core
    /// sent to subscribers.
    pub fn forward(&mut self, datagrams: &[Vec<u8>]) -> usize {
        let (now, source) = (self.now, self.peers[0].addr);
        let mut sent = 0;
        for contents in datagrams {
            let input = Input::Datagram {
                source,
                destination: SERVER,
                contents,
            };
            self.core.handle_input(now, input);
            sent += self.drain_forwarded(source);
            // str0m queues a written packet for sending only when it handles time: after the
            // writes the core asks for a timeout now, and the IO loop has to give it.
            for _ in 0..MAX_ROUNDS {
                if self.core_timeout > now {
                    break;
                }
                self.timeouts_in_forward += 1;
                self.core.handle_input(now, Input::Timeout);
                sent += self.drain_forwarded(source);
            }
        }
        self.media_sent += sent as u64;
        sent
    }

    /// Drains the core; counts and drops the media for subscribers, keeps the rest for `pump`.
    fn drain_forwarded(&mut self, publisher: SocketAddr) -> usize {
        let mut sent = 0;
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) if t.destination != publisher && is_rtp(&t.contents) => {
                    sent += 1;
                }
                Output::Transmit(t) => self.to_peers.push((t.destination, t.contents.into())),
                Output::Event(id, event) => self.core_events.push((id, event)),
                Output::Timeout(at) => {
                    self.core_timeout = at;
                    return sent;
                }
            }
        }
    }

    /// Moves the clock by `by` and runs everything that is due.
    pub fn step(&mut self, by: Duration) {
        self.now += by;
        self.pump();
    }

    fn run_until(&mut self, done: impl Fn(&Room) -> bool) {
        let limit = self.now + Duration::from_secs(10);
        while !done(self) {
            assert!(self.now < limit, "the sessions did not come up in 10 s");
            self.step(SETUP_STEP);
        }
    }

    fn join(&mut self, publishes: bool) {
        let (peer, join) = Peer::join(self.peers.len(), ROOM, self.now, publishes);
        self.peers.push(peer);
        self.commands.push_back(join);
    }

    /// Delivers everything in flight and feeds due timeouts until nothing is left to do now.
    fn pump(&mut self) {
        let now = self.now;
        for _ in 0..MAX_ROUNDS {
            let mut busy = false;
            for (id, event) in std::mem::take(&mut self.core_events) {
                let peer = &mut self.peers[id.0 as usize - 1];
                self.commands.extend(peer.on_core_event(event));
            }
            while let Some(command) = self.commands.pop_front() {
                self.core.handle_input(now, Input::Command(command));
                busy = true;
            }
            if self.core_timeout <= now {
                self.core.handle_input(now, Input::Timeout);
                busy = true;
            }
            for (source, contents) in std::mem::take(&mut self.to_server) {
                let input = Input::Datagram {
                    source,
                    destination: SERVER,
                    contents: &contents,
                };
                self.core.handle_input(now, input);
                busy = true;
            }
            self.drain_core();
            busy |= self.feed_peers();
            if !busy && self.core_events.is_empty() && self.commands.is_empty() {
                return;
            }
        }
    }

    fn drain_core(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) => {
                    if is_rtp(&t.contents) {
                        self.media_sent += 1;
                    }
                    self.to_peers.push((t.destination, t.contents.into()));
                }
                Output::Event(id, event) => self.core_events.push((id, event)),
                Output::Timeout(at) => {
                    self.core_timeout = at;
                    return;
                }
            }
        }
    }

    /// Delivers datagrams to the peers, feeds their due timeouts and collects what they send.
    fn feed_peers(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        for (destination, contents) in std::mem::take(&mut self.to_peers) {
            let index = usize::from(destination.port() - FIRST_PORT);
            self.peers[index].receive(now, &contents);
            busy = true;
        }
        for peer in &mut self.peers {
            busy |= peer.poll(now, &mut self.to_server);
        }
        busy
    }
}
