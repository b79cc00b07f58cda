//! The browser-like peers of the simulated network: str0m `Rtc`s that publish like the web client
//! (one audio and one video m-line, `inactive` when off) and count what reaches them.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::rng::Rng;
use sfu::{MediaEvent, ParticipantId, RoomId, TrackKind};
use str0m::change::{SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Simulcast, SimulcastLayer};
use str0m::rtp::RtpPacket;
use str0m::{Candidate, Event, Rtc, RtcConfig};

/// Opus frames are 20 ms; video runs at 25 fps.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(40);
/// Sizes that make a keyframe span several RTP packets and a delta frame one.
const KEYFRAME_BYTES: usize = 3000;
const DELTA_BYTES: usize = 400;
/// The rids of a simulcast camera, lowest quality first (as the web client lists them). A frame
/// of layer `i` is filled with byte `LAYER_FILL + i`, so a receiver can tell which layer it got.
pub const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];
pub const LAYER_FILL: u8 = 0x50;

/// Drops one datagram in `every` on one leg, on average (0: lossless), at places a seeded
/// generator picks: the same from run to run, but not periodic. A periodic pattern (every k-th
/// datagram) lines up with periodic traffic, and can then lose the retransmission of one packet
/// round after round, which no real link does.
#[derive(Debug, Clone)]
pub struct Loss {
    pub every: u64,
    rng: Rng,
    pub dropped: u64,
}

impl Default for Loss {
    fn default() -> Self {
        Loss {
            every: 0,
            rng: Rng(0x5eed_1055),
            dropped: 0,
        }
    }
}

impl Loss {
    pub(super) fn lose(&mut self) -> bool {
        if self.every == 0 {
            return false;
        }
        let lost = self.rng.below(self.every) == 0;
        self.dropped += u64::from(lost);
        lost
    }
}

/// What one client received of one track.
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
    pub(super) timeout: Instant,
    /// Our own m-lines: always one of each, like the web client, `Inactive` when not sending.
    pub audio_mid: Mid,
    pub video_mid: Mid,
    /// Which of them are negotiated as sending.
    pub sending: Publish,
    /// Our outstanding offer (join or renegotiation), until the server's answer arrives.
    pub(super) pending: Option<SdpPendingOffer>,
    /// When set, server offers wait in `held_offers` instead of being answered at once.
    pub hold_offers: bool,
    pub held_offers: VecDeque<String>,
    /// Whether it writes frames on the m-lines it sends on, once connected.
    pub publishing: bool,
    /// str0m runs in RTP mode (see `Net::rtp_mode`).
    pub rtp_mode: bool,
    /// What its camera encodes to (VP8 unless the test says otherwise).
    pub video_codec: Codec,
    /// A keyframe every n-th video frame; `None`: only the first one and on request.
    pub keyframe_every: Option<u64>,
    /// Its camera sends the three [`SIMULCAST_RIDS`] layers.
    pub simulcast: bool,
    /// The fill byte of the last video frame received from each publisher (see [`LAYER_FILL`]).
    pub last_video_fill: HashMap<ParticipantId, u8>,
    /// The audio level its Opus packets carry (str0m's sign: 0 loudest, -127 silent); `None`
    /// sends none.
    pub audio_level: Option<i8>,
    pub(super) force_keyframe: bool,
    pub video_frames_sent: u64,
    pub keyframes_sent: u64,
    pub(super) next_audio: Option<Instant>,
    pub(super) next_video: Option<Instant>,
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
    /// In RTP mode: every RTP packet received, in arrival order.
    pub rtp_in: Vec<RtpPacket>,
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

    pub(super) fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.connected = true,
            Event::MediaData(data) => {
                let Some(&track) = self.tracks.get(&data.mid) else {
                    self.unannounced_frames += 1;
                    return;
                };
                if track.1 == TrackKind::Video {
                    if let Some(fill) = data.data.last() {
                        self.last_video_fill.insert(track.0, *fill);
                    }
                }
                let r = self.received.entry(track).or_default();
                r.frames += 1;
                // VP8 frame tag: bit 0 clear is a keyframe. Opus frames are never counted.
                if track.1 == TrackKind::Video && data.data.first().is_some_and(|b| b & 1 == 0) {
                    r.keyframes += 1;
                }
            }
            Event::RtpPacket(packet) => self.rtp_in.push(packet),
            Event::KeyframeRequest(req) => {
                *self.keyframe_requests.entry(req.mid).or_default() += 1;
                self.force_keyframe = true;
            }
            _ => {}
        }
    }

    /// Writes the frames that are due at `now` (only once connected: str0m drops earlier writes).
    pub(super) fn write_media(&mut self, now: Instant, start: Instant) {
        if !self.publishing || !self.connected || self.silent {
            return;
        }
        // A device switched off and on again starts afresh, rather than catching up on frames.
        if !self.sending.audio {
            self.next_audio = None;
        }
        if !self.sending.video {
            self.next_video = None;
        }
        let next = self.next_audio.get_or_insert(now);
        if self.sending.audio && now >= *next {
            *next += AUDIO_EVERY;
            let ticks = (now - start).as_micros() as u64 * 48 / 1000;
            let time = MediaTime::new(ticks, Frequency::FORTY_EIGHT_KHZ);
            let (rtc, mid) = (&mut self.rtc, self.audio_mid);
            let level = self.audio_level;
            write(rtc, mid, Codec::Opus, now, time, vec![0xfc; 80], level);
        }
        let next = self.next_video.get_or_insert(now);
        if self.sending.video && now >= *next {
            *next += VIDEO_EVERY;
            let key = self.video_frames_sent == 0
                || std::mem::take(&mut self.force_keyframe)
                || self
                    .keyframe_every
                    .is_some_and(|n| self.video_frames_sent % n == 0);
            let frame = video_frame(self.video_codec, key);
            let time = MediaTime::from_90khz((now - start).as_micros() as u64 * 9 / 100);
            if self.simulcast {
                for (layer, rid) in SIMULCAST_RIDS.iter().enumerate() {
                    let mut frame = frame.clone();
                    frame[1..].fill(LAYER_FILL + layer as u8);
                    let writer = self.rtc.writer(self.video_mid).expect("own m-line");
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == self.video_codec)
                        .map(|p| p.pt())
                        .expect("codec negotiated");
                    let writer = writer.rid((*rid).into());
                    writer.write(pt, now, time, frame).expect("write layer");
                }
            } else {
                write(
                    &mut self.rtc,
                    self.video_mid,
                    self.video_codec,
                    now,
                    time,
                    frame,
                    None,
                );
            }
            self.video_frames_sent += 1;
            self.keyframes_sent += u64::from(key);
        }
    }
}

/// A frame shaped for `codec`: VP8 with its frame tag (bit 0 clear on keyframes); H.264 as an
/// Annex B access unit with one IDR (type 5) or non-IDR (type 1) slice.
fn video_frame(codec: Codec, key: bool) -> Vec<u8> {
    let size = if key { KEYFRAME_BYTES } else { DELTA_BYTES };
    let mut frame = vec![0x5a; size];
    match codec {
        Codec::H264 => {
            frame[..5].copy_from_slice(&[0, 0, 0, 1, if key { 0x65 } else { 0x41 }]);
        }
        _ => frame[0] = if key { 0x00 } else { 0x01 },
    }
    frame
}

fn write(
    rtc: &mut Rtc,
    mid: Mid,
    codec: Codec,
    now: Instant,
    time: MediaTime,
    data: Vec<u8>,
    level: Option<i8>,
) {
    let mut writer = rtc.writer(mid).expect("own m-line has a writer");
    if let Some(level) = level {
        // RFC 6464, as str0m has it: 0 is loudest, -127 silence; voice when louder than -60.
        writer = writer.audio_level(level, level > -60);
    }
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

pub(super) fn direction(sending: bool) -> Direction {
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
    client_offer_with(config, addr, now, publish, false)
}

/// Like [`client_offer`]; the camera's m-line offers the three [`SIMULCAST_RIDS`] when `simulcast`.
pub fn client_offer_with(
    config: RtcConfig,
    addr: SocketAddr,
    now: Instant,
    publish: Publish,
    simulcast: bool,
) -> ClientOffer {
    let mut rtc = config.build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
    let mut api = rtc.sdp_api();
    let stream = Some("cam".to_string());
    let audio_mid = api.add_media(
        MediaKind::Audio,
        direction(publish.audio),
        stream.clone(),
        None,
        None,
    );
    let layers = simulcast.then(|| {
        let mut layers = Simulcast::new();
        for rid in SIMULCAST_RIDS {
            layers.add_send_layer(SimulcastLayer::new(rid));
        }
        layers
    });
    let video_mid = api.add_media(
        MediaKind::Video,
        direction(publish.video),
        stream,
        None,
        layers,
    );
    let (offer, pending) = api.apply().expect("offer has changes");
    ClientOffer {
        rtc,
        offer,
        pending,
        audio_mid,
        video_mid,
    }
}
