//! When a class nobody is in may go.
//!
//! A class holds names, chat and one of the node's `max_rooms` places, so one that everyone has
//! left must not stay until a restart. But a teacher makes a class ahead of the lesson and sends
//! its links out: until a teacher has been in it, the class keeps its links for their whole
//! lifetime, whoever else comes and goes (otherwise anyone with the pupil link could make the
//! class vanish before the lesson by joining and closing the tab). Once a teacher has been in
//! it, a class that everyone has left is kept for a while (`empty_class_linger_secs`), long
//! enough for the whole class to come back after a network outage or a break, then freed.
//!
//! Sans-IO: told what the class looks like after each change, at the time passed in.

use std::time::{Duration, Instant};

/// What decides whether an empty class may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vacancy {
    /// A teacher has been a member at some point.
    taught: bool,
    /// Since when nobody is in (members or lobby), if nobody is.
    empty_since: Option<Instant>,
}

impl Vacancy {
    /// A class made at `created`, nobody in it yet.
    pub fn new(created: Instant) -> Self {
        Vacancy {
            taught: false,
            empty_since: Some(created),
        }
    }

    /// Records the class as it is after a change at `now`.
    pub fn observe(&mut self, now: Instant, empty: bool, teacher_in: bool) {
        self.taught |= teacher_in;
        if empty {
            self.empty_since.get_or_insert(now);
        } else {
            self.empty_since = None;
        }
    }

    /// When the class may be freed if it stays empty: `linger` after it emptied, once a teacher
    /// has been in it; `links_expire` (after which nobody can join any more) otherwise. `None`
    /// while somebody is in.
    pub fn free_at(&self, linger: Duration, links_expire: Instant) -> Option<Instant> {
        let since = self.empty_since?;
        Some(match self.taught {
            true => (since + linger).min(links_expire),
            false => links_expire,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINGER: Duration = Duration::from_secs(600);
    const TTL: Duration = Duration::from_secs(12 * 3600);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_class_nobody_opened_keeps_its_links_for_their_lifetime() {
        let t0 = Instant::now();
        let v = Vacancy::new(t0);
        assert_eq!(v.free_at(LINGER, t0 + TTL), Some(t0 + TTL));
    }

    #[test]
    fn pupils_coming_and_going_before_the_teacher_do_not_start_the_clock() {
        let t0 = Instant::now();
        let mut v = Vacancy::new(t0);
        v.observe(t0 + secs(10), false, false);
        v.observe(t0 + secs(20), true, false);
        assert_eq!(v.free_at(LINGER, t0 + TTL), Some(t0 + TTL));
    }

    #[test]
    fn a_class_everyone_left_after_the_teacher_came_goes_after_the_linger() {
        let t0 = Instant::now();
        let mut v = Vacancy::new(t0);
        v.observe(t0, false, true);
        assert_eq!(v.free_at(LINGER, t0 + TTL), None, "somebody is in");
        // The teacher went first; the class counts as taught even once only pupils remain.
        v.observe(t0 + secs(100), false, false);
        v.observe(t0 + secs(200), true, false);
        assert_eq!(v.free_at(LINGER, t0 + TTL), Some(t0 + secs(200) + LINGER));
    }

    #[test]
    fn someone_coming_back_restarts_the_clock() {
        let t0 = Instant::now();
        let mut v = Vacancy::new(t0);
        v.observe(t0, false, true);
        v.observe(t0 + secs(10), true, false);
        v.observe(t0 + secs(300), false, false);
        v.observe(t0 + secs(310), true, false);
        assert_eq!(v.free_at(LINGER, t0 + TTL), Some(t0 + secs(310) + LINGER));
    }

    #[test]
    fn the_linger_never_outlasts_the_links() {
        let t0 = Instant::now();
        let mut v = Vacancy::new(t0);
        v.observe(t0, false, true);
        v.observe(t0 + secs(10), true, false);
        assert_eq!(v.free_at(LINGER, t0 + secs(60)), Some(t0 + secs(60)));
    }
}
