//! The sending half of a peer: its mic and camera, each on a fixed frame grid, written to str0m.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid, Pt, Rid};
use str0m::Rtc;

use super::RunContext;
use crate::measure::{clock_nanos, Kind, Window};
use crate::media::{CameraLayer, Vp8Source, AUDIO_EVERY};

/// A publisher more than this late skips frames instead of bursting to catch up.
const MAX_LAG: Duration = Duration::from_millis(100);

/// An m-line we send on, and its payload type once looked up.
struct Outlet {
    mid: Mid,
    pt: Option<Pt>,
}

struct AudioOut {
    outlet: Outlet,
    next: Instant,
    frames: u64,
}

struct VideoOut {
    outlet: Outlet,
    next: Instant,
    started: Instant,
    /// One source per simulcast layer (one, without a rid, without simulcast). All run on the
    /// same frame grid, as a browser's simulcast encoder does.
    layers: Vec<(Option<Rid>, Vp8Source)>,
}

/// What one peer publishes (possibly nothing).
pub struct Publisher {
    audio: Option<AudioOut>,
    video: Option<VideoOut>,
    /// Send stamps of the frames written inside the window, per kind.
    pub sent: BTreeMap<Kind, Vec<u64>>,
}

impl Publisher {
    /// A peer that publishes nothing (until its offer says otherwise).
    pub fn silent() -> Publisher {
        Publisher {
            audio: None,
            video: None,
            sent: BTreeMap::new(),
        }
    }

    /// `video`: the camera's m-line and its layers (`seed` varies frame sizes between publishers).
    pub fn new(
        audio_mid: Option<Mid>,
        video: Option<(Mid, &[CameraLayer])>,
        filler: &Arc<[u8]>,
        seed: u64,
        now: Instant,
    ) -> Publisher {
        Publisher {
            audio: audio_mid.map(|mid| AudioOut {
                outlet: Outlet { mid, pt: None },
                next: now,
                frames: 0,
            }),
            video: video.map(|(mid, layers)| VideoOut {
                outlet: Outlet { mid, pt: None },
                next: now,
                started: now,
                layers: layers
                    .iter()
                    .zip(seed..)
                    .map(|(layer, seed)| {
                        let source = Vp8Source::new(layer.shape, filler.clone(), seed);
                        (layer.rid.map(Rid::from), source)
                    })
                    .collect(),
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

    /// A keyframe request arrived on `mid` for layer `rid` (`None`: every layer); true if it is
    /// our camera's.
    pub fn keyframe_requested(&mut self, mid: Mid, rid: Option<Rid>) -> bool {
        let Some(video) = self.video.as_mut().filter(|v| v.outlet.mid == mid) else {
            return false;
        };
        for (_, camera) in video
            .layers
            .iter_mut()
            .filter(|(layer, _)| rid.is_none() || *layer == rid)
        {
            camera.request_keyframe();
        }
        true
    }

    /// Writes every frame that is due by `now`.
    pub fn send_due(&mut self, rtc: &mut Rtc, now: Instant, ctx: &RunContext) {
        if let Some(audio) = self.audio.as_mut().filter(|a| now >= a.next) {
            audio.next = next_tick(audio.next, AUDIO_EVERY, now);
            let stamp = clock_nanos();
            let frame = ctx.opus.frame(audio.frames, stamp);
            let rtp = MediaTime::new(audio.frames * 960, Frequency::FORTY_EIGHT_KHZ);
            audio.frames += 1;
            if audio.outlet.write(rtc, None, Codec::Opus, now, rtp, frame) {
                note(&mut self.sent, Kind::Audio, stamp, ctx.window);
            }
        }
        if let Some(video) = self.video.as_mut().filter(|v| now >= v.next) {
            let interval = video.layers[0].1.frame_interval();
            video.next = next_tick(video.next, interval, now);
            // Every layer's frame carries the same stamp: a subscriber receives one layer, so it
            // expects one frame per stamp whichever layer the server picked for it.
            let stamp = clock_nanos();
            let elapsed = now.saturating_duration_since(video.started);
            let rtp = MediaTime::from_90khz(elapsed.as_micros() as u64 * 9 / 100);
            let mut written = true;
            for (rid, camera) in &mut video.layers {
                let frame = camera.next_frame(elapsed, stamp);
                written &= video.outlet.write(rtc, *rid, Codec::Vp8, now, rtp, frame);
            }
            if written {
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

impl Outlet {
    /// Writes one frame, as simulcast layer `rid` if given; false if str0m would not take it.
    fn write(
        &mut self,
        rtc: &mut Rtc,
        rid: Option<Rid>,
        codec: Codec,
        now: Instant,
        time: MediaTime,
        frame: Vec<u8>,
    ) -> bool {
        let Some(writer) = rtc.writer(self.mid) else {
            return false;
        };
        if self.pt.is_none() {
            self.pt = writer
                .payload_params()
                .find(|p| p.spec().codec == codec)
                .map(|p| p.pt());
        }
        let Some(pt) = self.pt else {
            return false;
        };
        let writer = match rid {
            Some(rid) => writer.rid(rid),
            None => writer,
        };
        writer.write(pt, now, time, frame).is_ok()
    }
}
