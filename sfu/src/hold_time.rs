//! How long the server holds a datagram: from its arrival at a shard's socket (the kernel's
//! receive timestamp, so time spent queued behind a busy shard counts) until everything it caused
//! — for a media packet, its copies to every subscriber — was handed back to the kernel.
//!
//! This is the server's own share of the media latency, without the network or the peers. It is
//! kept as a fixed-bucket histogram (Prometheus style: cheap to record, cheap to publish, and
//! deltas between two readings give the distribution over any window).

use std::time::Duration;

/// Upper bounds of the buckets, in microseconds; one more bucket holds everything above. Finer
/// around 5 ms, the server-added latency a class should stay under.
pub const BUCKET_BOUNDS_US: [u64; 14] = [
    100, 250, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 20_000, 50_000, 100_000,
    1_000_000,
];
/// Buckets, the last one unbounded.
pub const BUCKETS: usize = BUCKET_BOUNDS_US.len() + 1;

/// Counts of hold times per bucket (not cumulative), and their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoldHistogram {
    pub counts: [u64; BUCKETS],
    pub sum_us: u64,
}

impl HoldHistogram {
    pub fn record(&mut self, held: Duration) {
        let us = held.as_micros().min(u128::from(u64::MAX)) as u64;
        let bucket = BUCKET_BOUNDS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(BUCKETS - 1);
        self.counts[bucket] += 1;
        self.sum_us = self.sum_us.saturating_add(us);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another histogram's counts (another shard's, say).
    pub fn add(&mut self, other: &HoldHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
    }

    /// What was recorded after `earlier` (a previous reading of the same histogram).
    pub fn since(&self, earlier: &HoldHistogram) -> HoldHistogram {
        let mut delta = HoldHistogram::default();
        for (i, count) in delta.counts.iter_mut().enumerate() {
            *count = self.counts[i].saturating_sub(earlier.counts[i]);
        }
        delta.sum_us = self.sum_us.saturating_sub(earlier.sum_us);
        delta
    }

    /// The upper bound of the bucket holding quantile `q` (0–1): "`q` of the hold times were at
    /// most this". `None` if nothing was recorded, or if the quantile is in the unbounded bucket.
    pub fn quantile_bound(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let wanted = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= wanted {
                return BUCKET_BOUNDS_US.get(i).map(|us| Duration::from_micros(*us));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_times_land_in_their_buckets() {
        let mut h = HoldHistogram::default();
        h.record(Duration::from_micros(100));
        h.record(Duration::from_micros(101));
        h.record(Duration::from_secs(5));
        assert_eq!(h.counts[0], 1, "a bound is inclusive");
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[BUCKETS - 1], 1, "beyond the last bound");
        assert_eq!(h.count(), 3);
        assert_eq!(h.sum_us, 100 + 101 + 5_000_000);
    }

    #[test]
    fn quantiles_are_bucket_bounds_over_a_window() {
        let mut before = HoldHistogram::default();
        before.record(Duration::from_millis(40));
        let mut now = before;
        for _ in 0..98 {
            now.record(Duration::from_micros(300));
        }
        now.record(Duration::from_micros(1_500));
        now.record(Duration::from_micros(4_000));
        let window = now.since(&before);
        assert_eq!(
            window.count(),
            100,
            "the reading before the window is left out"
        );
        assert_eq!(window.quantile_bound(0.5), Some(Duration::from_micros(500)));
        assert_eq!(window.quantile_bound(0.99), Some(Duration::from_millis(2)));
        assert_eq!(window.quantile_bound(1.0), Some(Duration::from_millis(4)));
        assert_eq!(HoldHistogram::default().quantile_bound(0.5), None);
        let mut slow = HoldHistogram::default();
        slow.record(Duration::from_secs(3));
        assert_eq!(slow.quantile_bound(0.5), None, "unbounded bucket");
        let mut both = window;
        both.add(&slow);
        assert_eq!(both.count(), 101);
    }
}
