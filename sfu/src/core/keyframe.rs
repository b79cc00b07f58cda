//! Keyframe requests to a publisher, merged and throttled.
//!
//! Every subscriber that joins or loses packets wants a keyframe, and a class of 30 asking at once
//! would make the teacher's encoder send keyframe after keyframe (each several times a normal frame).
//! So requests inside `min_interval` of the last one sent are merged into one deferred request.

use std::time::{Duration, Instant};

/// Default spacing of keyframe requests to one publisher track.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// The request throttle of one published video track.
#[derive(Debug, Clone)]
pub struct KeyframeGate {
    min_interval: Duration,
    last_sent: Option<Instant>,
    deferred: bool,
}

impl KeyframeGate {
    /// A gate that lets one request through per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        KeyframeGate {
            min_interval,
            last_sent: None,
            deferred: false,
        }
    }

    /// Someone wants a keyframe. Returns true when the request should go to the publisher now;
    /// otherwise it is merged into one deferred request, see [`KeyframeGate::poll`].
    pub fn request(&mut self, now: Instant) -> bool {
        if self.may_send(now) {
            self.last_sent = Some(now);
            self.deferred = false;
            true
        } else {
            self.deferred = true;
            false
        }
    }

    /// Returns true when a deferred request is due now.
    pub fn poll(&mut self, now: Instant) -> bool {
        if self.deferred && self.may_send(now) {
            self.deferred = false;
            self.last_sent = Some(now);
            true
        } else {
            false
        }
    }

    /// When a deferred request becomes due, if one is waiting.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.deferred, self.last_sent) {
            (true, Some(last)) => Some(last + self.min_interval),
            _ => None,
        }
    }

    fn may_send(&self, now: Instant) -> bool {
        self.last_sent
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_millis(500);

    #[test]
    fn first_request_goes_out_at_once() {
        let mut gate = KeyframeGate::new(GAP);
        assert!(gate.request(Instant::now()));
        assert_eq!(gate.deadline(), None);
    }

    #[test]
    fn burst_of_requests_is_merged_into_one_deferred() {
        let start = Instant::now();
        let mut gate = KeyframeGate::new(GAP);
        assert!(gate.request(start));
        for i in 1..30 {
            assert!(!gate.request(start + Duration::from_millis(i)));
        }
        assert_eq!(gate.deadline(), Some(start + GAP));
        assert!(!gate.poll(start + GAP - Duration::from_millis(1)));
        assert!(gate.poll(start + GAP));
        // Merged: only one goes out for the whole burst.
        assert!(!gate.poll(start + GAP * 3));
        assert_eq!(gate.deadline(), None);
    }

    #[test]
    fn request_after_interval_goes_out_directly() {
        let start = Instant::now();
        let mut gate = KeyframeGate::new(GAP);
        assert!(gate.request(start));
        assert!(gate.request(start + GAP));
        assert!(!gate.poll(start + GAP * 2));
    }
}
