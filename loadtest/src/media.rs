//! What the synthetic publishers send: real Opus frames (encoded once at start-up from a
//! speech-like signal, then looped) and VP8-shaped frames (valid VP8 frame headers, realistic sizes,
//! rate and keyframe structure; the payload after the header is filler, not a decodable picture).
//!
//! Every frame ends with an 8-byte stamp: the send time in nanoseconds since the process-wide
//! start ([`crate::measure::clock_nanos`]). It goes at the end, not the start, because the first
//! bytes are the codec's own header (the VP8 keyframe bit that str0m reads, the Opus TOC byte).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

/// Size of the send-time stamp at the end of every frame.
pub const STAMP_LEN: usize = 8;
pub const AUDIO_EVERY: Duration = Duration::from_millis(20);
const SAMPLE_RATE: u32 = 48_000;
const SAMPLES_PER_FRAME: usize = 960; // 20 ms at 48 kHz
const OPUS_LOOP_FRAMES: usize = 250; // 5 s of audio, then it repeats
/// A keyframe is this many times the size of a delta frame (libvpx at 720p is in that range).
const KEYFRAME_RATIO: usize = 5;
const FILLER_LEN: usize = 1 << 16;
/// At most one keyframe per this long in answer to keyframe requests, as an encoder would.
const MIN_KEYFRAME_GAP: Duration = Duration::from_millis(300);

/// Appends the stamp to a frame.
pub fn stamp(frame: &mut Vec<u8>, send_nanos: u64) {
    frame.extend_from_slice(&send_nanos.to_be_bytes());
}

/// The send time a frame carries, if it is long enough to carry one.
pub fn read_stamp(frame: &[u8]) -> Option<u64> {
    let tail = frame.get(frame.len().checked_sub(STAMP_LEN)?..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// Opus frames of a few seconds of speech-like sound, encoded once and shared by every publisher.
#[derive(Debug)]
pub struct OpusLoop {
    frames: Vec<Vec<u8>>,
}

impl OpusLoop {
    /// Encodes the loop with libopus (VoIP mode, mono, 32 kbit/s VBR, 20 ms frames).
    pub fn encode() -> anyhow::Result<Arc<OpusLoop>> {
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .context("creating the Opus encoder")?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(32_000))
            .context("setting the Opus bitrate")?;
        let mut pcm = vec![0i16; SAMPLES_PER_FRAME];
        let mut out = vec![0u8; 1500];
        let mut noise = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut frames = Vec::with_capacity(OPUS_LOOP_FRAMES);
        for f in 0..OPUS_LOOP_FRAMES {
            for (i, sample) in pcm.iter_mut().enumerate() {
                let t = (f * SAMPLES_PER_FRAME + i) as f64 / f64::from(SAMPLE_RATE);
                *sample = speech_like(t, &mut noise);
            }
            let n = encoder.encode(&pcm, &mut out).context("encoding Opus")?;
            frames.push(out[..n].to_vec());
        }
        Ok(Arc::new(OpusLoop { frames }))
    }

    /// Frame `n` of the loop, stamped.
    pub fn frame(&self, n: u64, send_nanos: u64) -> Vec<u8> {
        let source = &self.frames[(n % self.frames.len() as u64) as usize];
        let mut frame = Vec::with_capacity(source.len() + STAMP_LEN);
        frame.extend_from_slice(source);
        stamp(&mut frame, send_nanos);
        frame
    }

    /// Average encoded size in bytes (for the report's description of the traffic).
    pub fn mean_len(&self) -> usize {
        self.frames.iter().map(Vec::len).sum::<usize>() / self.frames.len().max(1)
    }
}

/// A voiced sound: a gliding fundamental with harmonics, syllable-rate envelope, pauses, noise.
fn speech_like(t: f64, noise: &mut XorShift) -> i16 {
    use std::f64::consts::TAU;
    let pitch = 140.0 + 40.0 * (TAU * 0.7 * t).sin();
    let envelope = (TAU * 4.0 * t).sin().abs() * if (t % 2.5) < 2.0 { 1.0 } else { 0.05 };
    let voiced: f64 = (1..=6)
        .map(|h| (TAU * pitch * f64::from(h) * t).sin() / f64::from(h))
        .sum();
    let hiss = (noise.next() % 2001) as f64 / 1000.0 - 1.0;
    let value = 6000.0 * envelope * voiced + 300.0 * hiss;
    value.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// Simulcast rids, lowest quality first: the order the web client writes them in and the server
/// ranks layers by.
pub const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];

/// Shape of one synthetic camera stream.
#[derive(Debug, Clone, Copy)]
pub struct VideoShape {
    pub kbps: u32,
    pub fps: u32,
    pub keyframe_every: Duration,
    /// Picture size written in keyframe headers.
    pub width: u16,
    pub height: u16,
}

/// One stream of a camera as sent: its rid (`None` without simulcast) and shape.
#[derive(Debug, Clone, Copy)]
pub struct CameraLayer {
    pub rid: Option<&'static str>,
    pub shape: VideoShape,
}

impl VideoShape {
    /// What a browser sends for a camera whose best stream is `self`, as `count` simulcast layers
    /// (1: no simulcast), lowest first. As Chrome does by default, each layer below has half the
    /// width and height of the one above; the bitrates follow libwebrtc's 720p split (about
    /// 1/3 and 1/10 of the top layer).
    pub fn simulcast(self, count: usize) -> Vec<CameraLayer> {
        const BITRATE_DIVISOR: [u32; 3] = [1, 3, 10];
        if count <= 1 {
            return vec![CameraLayer {
                rid: None,
                shape: self,
            }];
        }
        let count = count.min(SIMULCAST_RIDS.len());
        (0..count)
            .rev()
            .map(|below_top| CameraLayer {
                rid: Some(SIMULCAST_RIDS[SIMULCAST_RIDS.len() - 1 - below_top]),
                shape: VideoShape {
                    kbps: (self.kbps / BITRATE_DIVISOR[below_top]).max(1),
                    width: self.width >> below_top,
                    height: self.height >> below_top,
                    ..self
                },
            })
            .collect()
    }
}

/// One camera: decides each frame's size and kind, and builds it.
#[derive(Debug)]
pub struct Vp8Source {
    shape: VideoShape,
    delta_len: usize,
    frames_per_gop: u64,
    since_keyframe: u64,
    last_keyframe: Option<Duration>,
    keyframe_wanted: bool,
    filler: Arc<[u8]>,
    rng: XorShift,
    pub keyframes_sent: u64,
}

impl Vp8Source {
    pub fn new(shape: VideoShape, filler: Arc<[u8]>, seed: u64) -> Vp8Source {
        let fps = u64::from(shape.fps.max(1));
        let frames_per_gop = (shape.keyframe_every.as_millis() as u64 * fps / 1000).max(1);
        // Bytes in one keyframe interval = one keyframe (KEYFRAME_RATIO deltas) + the deltas.
        let gop_bytes = u64::from(shape.kbps) * 1000 / 8 * frames_per_gop / fps;
        let delta_len = (gop_bytes / (frames_per_gop - 1 + KEYFRAME_RATIO as u64)) as usize;
        Vp8Source {
            shape,
            delta_len: delta_len.max(64),
            frames_per_gop,
            since_keyframe: 0,
            last_keyframe: None,
            keyframe_wanted: true,
            filler,
            rng: XorShift(seed | 1),
            keyframes_sent: 0,
        }
    }

    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.shape.fps.max(1)
    }

    /// A subscriber lost something: the next frame is a keyframe (unless one just went out).
    pub fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// The next frame, stamped. `elapsed` is the time since this source started.
    pub fn next_frame(&mut self, elapsed: Duration, send_nanos: u64) -> Vec<u8> {
        let recent = self
            .last_keyframe
            .is_some_and(|at| elapsed.saturating_sub(at) < MIN_KEYFRAME_GAP);
        let keyframe = (self.keyframe_wanted && !recent)
            || self.since_keyframe >= self.frames_per_gop
            || self.last_keyframe.is_none();
        // Delta frames vary ±25 % around their mean; keyframes ±10 %.
        let (mean, spread) = if keyframe {
            (self.delta_len * KEYFRAME_RATIO, 10)
        } else {
            (self.delta_len, 25)
        };
        let jitter = (self.rng.next() % (2 * spread + 1)) as usize;
        let len = mean * (100 - spread as usize + jitter) / 100;
        let mut frame = Vec::with_capacity(len + STAMP_LEN);
        vp8_header(&mut frame, keyframe, len, &self.shape);
        let offset = (self.rng.next() as usize) % (self.filler.len() / 2);
        let body = len
            .saturating_sub(frame.len())
            .min(self.filler.len() - offset);
        frame.extend_from_slice(&self.filler[offset..offset + body]);
        stamp(&mut frame, send_nanos);
        if keyframe {
            self.since_keyframe = 1;
            self.last_keyframe = Some(elapsed);
            self.keyframe_wanted = false;
            self.keyframes_sent += 1;
        } else {
            self.since_keyframe += 1;
        }
        frame
    }
}

/// Filler bytes for video payloads, made once.
pub fn video_filler() -> Arc<[u8]> {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    (0..FILLER_LEN).map(|_| rng.next() as u8).collect()
}

/// RFC 6386 §9.1 frame tag (and, for a keyframe, start code and the picture size).
fn vp8_header(frame: &mut Vec<u8>, keyframe: bool, len: usize, shape: &VideoShape) {
    let first_partition = (len / 10).min((1 << 19) - 1) as u32;
    let show_frame = 1 << 4;
    let tag = (first_partition << 5) | show_frame | u32::from(!keyframe);
    frame.extend_from_slice(&tag.to_le_bytes()[..3]);
    if keyframe {
        frame.extend_from_slice(&[0x9d, 0x01, 0x2a]);
        frame.extend_from_slice(&shape.width.to_le_bytes());
        frame.extend_from_slice(&shape.height.to_le_bytes());
    }
}

/// A tiny deterministic generator: frame sizes need variety, not cryptographic randomness.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAMERA_720P: VideoShape = VideoShape {
        kbps: 1500,
        fps: 30,
        keyframe_every: Duration::from_secs(4),
        width: 1280,
        height: 720,
    };

    #[test]
    fn stamp_round_trips_and_keeps_the_header() {
        let mut camera = Vp8Source::new(CAMERA_720P, video_filler(), 7);
        let key = camera.next_frame(Duration::ZERO, 42);
        assert_eq!(key[0] & 1, 0, "first frame is a keyframe");
        assert_eq!(&key[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(read_stamp(&key), Some(42));
        let delta = camera.next_frame(Duration::from_millis(33), 43);
        assert_eq!(delta[0] & 1, 1);
        assert!(key.len() > 3 * delta.len());
    }

    #[test]
    fn video_averages_the_configured_bitrate() {
        let mut camera = Vp8Source::new(CAMERA_720P, video_filler(), 7);
        let total: usize = (0..30 * 60)
            .map(|i| camera.next_frame(Duration::from_millis(i * 33), 0).len())
            .sum();
        let kbps = total * 8 / 60 / 1000;
        assert!((1400..=1600).contains(&kbps), "{kbps} kbit/s");
        assert_eq!(camera.keyframes_sent, 15);
    }

    #[test]
    fn simulcast_layers_go_lowest_first_and_shrink() {
        let layers = CAMERA_720P.simulcast(3);
        let rids: Vec<_> = layers.iter().map(|l| l.rid).collect();
        assert_eq!(rids, [Some("q"), Some("h"), Some("f")]);
        let sizes: Vec<_> = layers
            .iter()
            .map(|l| (l.shape.width, l.shape.height, l.shape.kbps))
            .collect();
        assert_eq!(sizes, [(320, 180, 150), (640, 360, 500), (1280, 720, 1500)]);
        let two: Vec<_> = CAMERA_720P.simulcast(2).iter().map(|l| l.rid).collect();
        assert_eq!(two, [Some("h"), Some("f")]);
        let one = CAMERA_720P.simulcast(1);
        assert_eq!((one.len(), one[0].rid), (1, None));
        let mut small = Vp8Source::new(layers[0].shape, video_filler(), 7);
        let key = small.next_frame(Duration::ZERO, 1);
        assert_eq!(
            &key[6..10],
            &[64, 1, 180, 0],
            "320×180 in the keyframe header"
        );
    }

    #[test]
    fn opus_frames_are_real_and_varied() {
        let opus = OpusLoop::encode().expect("libopus works");
        let a = opus.frame(0, 1);
        let b = opus.frame(60, 2);
        assert_ne!(a.len(), b.len(), "VBR frames vary");
        assert!(opus.mean_len() > 20 && opus.mean_len() < 200);
        assert_eq!(read_stamp(&b), Some(2));
    }
}
