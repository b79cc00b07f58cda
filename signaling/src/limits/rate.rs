//! Per-connection message rate limit: a token bucket, and a flood guard that ends connections
//! which keep sending after being told to slow down. Sans-IO: time is passed in.

use std::time::{Duration, Instant};

/// The classic token bucket: `rate` tokens a second, at most `capacity` saved up.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_sec: u32, capacity: u32, now: Instant) -> Self {
        TokenBucket {
            capacity: f64::from(capacity.max(1)),
            rate: f64::from(rate_per_sec.max(1)),
            tokens: f64::from(capacity.max(1)),
            last: now,
        }
    }

    /// A full bucket refilling `rate_per_min` tokens a minute (for rare actions, such as
    /// creating a class).
    pub fn per_minute(rate_per_min: u32, capacity: u32, now: Instant) -> Self {
        let mut bucket = TokenBucket::new(1, capacity, now);
        bucket.rate = f64::from(rate_per_min.max(1)) / 60.0;
        bucket
    }

    /// Whether the bucket is full again at `now`: nothing was taken for long enough that
    /// forgetting it changes nothing.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.capacity
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        // A clock that went backwards (it cannot with `Instant`, but be safe) adds nothing.
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: handle it.
    Allow,
    /// Over the limit: drop it and tell the client.
    Drop,
    /// Still flooding after many drops: close the connection.
    Close,
}

/// A connection's rate limit: the bucket, plus a count of drops in a window. A client that
/// slows down when told loses a few messages; one that goes on (`flood_drops` drops within
/// `window`) is disconnected, so it cannot keep the server busy answering it.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    bucket: TokenBucket,
    window: Duration,
    window_start: Instant,
    dropped: u32,
    flood_drops: u32,
}

impl RateLimiter {
    /// How long drops are counted before the count starts again.
    pub const WINDOW: Duration = Duration::from_secs(10);

    /// `rate_per_sec` sustained, `burst` at once; closes after 3 × `burst` drops in a window.
    pub fn new(rate_per_sec: u32, burst: u32, now: Instant) -> Self {
        RateLimiter {
            bucket: TokenBucket::new(rate_per_sec, burst, now),
            window: Self::WINDOW,
            window_start: now,
            dropped: 0,
            flood_drops: burst.max(1).saturating_mul(3),
        }
    }

    /// Counts one message arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.bucket.try_take(now) {
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start) > self.window {
            self.window_start = now;
            self.dropped = 0;
        }
        self.dropped += 1;
        if self.dropped >= self.flood_drops {
            Verdict::Close
        } else {
            Verdict::Drop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_the_burst_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(20, 50, t0);
        assert_eq!((0..60).filter(|_| bucket.try_take(t0)).count(), 50);
        let later = t0 + Duration::from_millis(500);
        assert_eq!((0..60).filter(|_| bucket.try_take(later)).count(), 10);
        let much_later = later + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| bucket.try_take(much_later)).count(), 50);
    }

    #[test]
    fn a_steady_client_under_the_rate_is_never_limited() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(20, 50, t0);
        for i in 0..10_000u64 {
            let now = t0 + Duration::from_millis(i * 60);
            assert_eq!(limiter.check(now), Verdict::Allow, "message {i}");
        }
    }

    #[test]
    fn drops_then_a_close_when_flooding_goes_on() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(20, 50, t0);
        let verdicts: Vec<Verdict> = (0..200).map(|_| limiter.check(t0)).collect();
        assert!(verdicts[..50].iter().all(|v| *v == Verdict::Allow));
        assert!(verdicts[50..199].iter().all(|v| *v == Verdict::Drop));
        assert_eq!(verdicts[199], Verdict::Close);
    }

    #[test]
    fn a_client_that_slows_down_after_drops_is_not_closed() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(20, 50, t0);
        let mut now = t0;
        for _ in 0..10 {
            // A burst over the limit, then a pause longer than the window.
            for _ in 0..(50 + 100) {
                assert_ne!(limiter.check(now), Verdict::Close);
            }
            now += RateLimiter::WINDOW + Duration::from_secs(1);
        }
    }
}
