//! The sending half of a peer: its mic and camera, each on a fixed frame grid, written to str0m.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid, Pt};
use str0m::Rtc;

use super::RunContext;
use crate::measure::{clock_nanos, Kind, Window};
use crate::media::{Vp8Source, AUDIO_EVERY};

/// A publisher more than this late skips frames instead of bursting to catch up.
const MAX_LAG: Duration = Duration::from_millis(100);

struct AudioOut {
    mid: Mid,
    pt: Option<Pt>,
    next: Instant,
    frames: u64,
}

struct VideoOut {
    mid: Mid,
    pt: Option<Pt>,
    next: Instant,
    started: Instant,
    camera: Vp8Source,
}

/// What one peer publishes (possibly nothing).
pub struct Publisher {
    audio: Option<AudioOut>,
    video: Option<VideoOut>,
    /// Send stamps of the frames written inside the window, per kind.
    pub sent: BTreeMap<Kind, Vec<u64>>,
}

impl Publisher {
    pub fn new(audio_mid: Option<Mid>, video: Option<(Mid, Vp8Source)>, now: Instant) -> Publisher {
        Publisher {
            audio: audio_mid.map(|mid| AudioOut {
                mid,
                pt: None,
                next: now,
                frames: 0,
            }),
            video: video.map(|(mid, camera)| VideoOut {
                mid,
                pt: None,
                next: now,
                started: now,
                camera,
            }),
            sent: BTreeMap::new(),
        }
    }

    /// When the next frame is due (`None`: publishes nothing).
    pub fn next_due(&self) -> Option<Instant> {
        let audio = self.audio.as_ref().map(|a| a.next);
        let video = self.video.as_ref().map(|v| v.next);
        audio.into_iter().chain(video).min()
    }

    /// A keyframe request arrived on `mid`; true if it is our camera's.
    pub fn keyframe_requested(&mut self, mid: Mid) -> bool {
        match self.video.as_mut().filter(|v| v.mid == mid) {
            Some(video) => {
                video.camera.request_keyframe();
                true
            }
            None => false,
        }
    }

    /// Writes every frame that is due by `now`.
    pub fn send_due(&mut self, rtc: &mut Rtc, now: Instant, ctx: &RunContext) {
        if let Some(audio) = self.audio.as_mut().filter(|a| now >= a.next) {
            audio.next = next_tick(audio.next, AUDIO_EVERY, now);
            let stamp = clock_nanos();
            let frame = ctx.opus.frame(audio.frames, stamp);
            let rtp = MediaTime::new(audio.frames * 960, Frequency::FORTY_EIGHT_KHZ);
            audio.frames += 1;
            if write(rtc, audio.mid, &mut audio.pt, Codec::Opus, now, rtp, frame) {
                note(&mut self.sent, Kind::Audio, stamp, ctx.window);
            }
        }
        if let Some(video) = self.video.as_mut().filter(|v| now >= v.next) {
            let interval = video.camera.frame_interval();
            video.next = next_tick(video.next, interval, now);
            let stamp = clock_nanos();
            let elapsed = now.saturating_duration_since(video.started);
            let frame = video.camera.next_frame(elapsed, stamp);
            let rtp = MediaTime::from_90khz(elapsed.as_micros() as u64 * 9 / 100);
            if write(rtc, video.mid, &mut video.pt, Codec::Vp8, now, rtp, frame) {
                note(&mut self.sent, Kind::Video, stamp, ctx.window);
            }
        }
    }
}

fn note(sent: &mut BTreeMap<Kind, Vec<u64>>, kind: Kind, stamp: u64, window: Window) {
    if window.contains(stamp) {
        sent.entry(kind).or_default().push(stamp);
    }
}

/// The next frame time on a fixed grid, skipping ahead (not bursting) when far behind.
fn next_tick(scheduled: Instant, every: Duration, now: Instant) -> Instant {
    let next = scheduled + every;
    if now.saturating_duration_since(next) > MAX_LAG {
        now + every
    } else {
        next
    }
}

/// Writes one frame on `mid` (payload type looked up once); false if str0m would not take it.
fn write(
    rtc: &mut Rtc,
    mid: Mid,
    pt: &mut Option<Pt>,
    codec: Codec,
    now: Instant,
    time: MediaTime,
    frame: Vec<u8>,
) -> bool {
    let Some(writer) = rtc.writer(mid) else {
        return false;
    };
    if pt.is_none() {
        *pt = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt());
    }
    let Some(pt) = *pt else {
        return false;
    };
    writer.write(pt, now, time, frame).is_ok()
}
