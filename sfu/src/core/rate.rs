//! The rate of a stream as it arrives, for sharing subscribers' downlinks among layers.

use std::time::{Duration, Instant};

use super::allocation::Bps;

/// How long one measurement lasts: long enough to take in a keyframe and the smaller frames
/// after it, short enough to follow a publisher whose encoder changes its rate.
const WINDOW: Duration = Duration::from_secs(1);
/// A measurement older than this (the stream stopped) no longer counts.
const STALE_AFTER: Duration = Duration::from_secs(3);
/// What a packet costs on the wire besides its payload: RTP header and extensions, the SRTP
/// tag, UDP and IPv4.
pub const PACKET_OVERHEAD: usize = 12 + 16 + 10 + 8 + 20;

/// Bytes counted over consecutive windows; the rate of the last complete one.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateMeter {
    window_start: Option<Instant>,
    bytes: u64,
    last: Option<(Bps, Instant)>,
}

impl RateMeter {
    /// A packet of `payload` bytes arrived at `now`.
    pub fn add(&mut self, payload: usize, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= WINDOW {
            let bps = self.bytes * 8 * 1_000_000 / elapsed.as_micros().max(1) as u64;
            self.last = Some((bps, now));
            self.bytes = 0;
            self.window_start = Some(now);
        }
        self.bytes += (payload + PACKET_OVERHEAD) as u64;
    }

    /// The last complete window's rate, unless it is stale.
    pub fn rate(&self, now: Instant) -> Option<Bps> {
        let (bps, at) = self.last?;
        (now.saturating_duration_since(at) < STALE_AFTER).then_some(bps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_steady_stream_and_forgets_a_stopped_one() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        assert_eq!(meter.rate(start), None);
        // 50 packets a second of 1,000 payload bytes: 50 × 1,066 × 8 bit/s.
        for n in 0..=100u32 {
            meter.add(1_000, start + Duration::from_millis(20) * n);
        }
        let now = start + Duration::from_secs(2);
        assert_eq!(meter.rate(now), Some(50 * 1_066 * 8));
        assert_eq!(meter.rate(now + STALE_AFTER), None);
    }
}
