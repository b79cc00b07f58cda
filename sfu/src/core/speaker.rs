//! Who is speaking in a room, from the audio level publishers put in their RTP packets.
//!
//! Browsers send RFC 6464 audio levels with every Opus packet: 0 (loudest) to 127 (silence), in
//! -dBov. A single packet says little (a cough, a door), so each participant's level is smoothed
//! over a few hundred milliseconds; the loudest smoothed level above a speech threshold is the
//! active speaker. It changes at most every [`MIN_CHANGE_INTERVAL`], and only to someone clearly
//! louder than the current speaker, so the class's video layout does not flicker.

use std::time::{Duration, Instant};

use crate::ids::ParticipantId;

/// The fastest the active speaker may change.
pub const MIN_CHANGE_INTERVAL: Duration = Duration::from_millis(500);
/// Levels quieter than this (in -dBov) are not speech.
const SPEECH_BELOW_DBOV: f32 = 60.0;
/// Weight of each new packet's level (20 ms packets: about 400 ms to follow a change).
const SMOOTHING: f32 = 0.05;
/// How much louder (in dB) someone must be to take over from the current speaker.
const TAKEOVER_MARGIN: f32 = 3.0;
/// A participant whose audio stopped this long ago is not a candidate.
const STALE_AFTER: Duration = Duration::from_secs(1);
/// RFC 6464's silence.
const SILENCE_DBOV: f32 = 127.0;

/// The active-speaker state of one room.
#[derive(Debug, Default)]
pub struct SpeakerDetector {
    /// Smoothed level (in -dBov, lower is louder) and when it was last fed.
    levels: Vec<(ParticipantId, f32, Instant)>,
    current: Option<ParticipantId>,
    last_change: Option<Instant>,
}

impl SpeakerDetector {
    /// `participant`'s audio packet carried `level` (-dBov, 0–127; larger values are clamped).
    pub fn feed(&mut self, participant: ParticipantId, level: u8, now: Instant) {
        let level = f32::from(level.min(127));
        match self.levels.iter_mut().find(|(p, _, _)| *p == participant) {
            Some((_, smoothed, at)) => {
                *smoothed += SMOOTHING * (level - *smoothed);
                *at = now;
            }
            // Start from silence: one loud packet does not make a speaker.
            None => self.levels.push((
                participant,
                SILENCE_DBOV + SMOOTHING * (level - SILENCE_DBOV),
                now,
            )),
        }
    }

    /// The new active speaker, if it changed and may change now.
    pub fn poll(&mut self, now: Instant) -> Option<ParticipantId> {
        if self
            .last_change
            .is_some_and(|at| now.saturating_duration_since(at) < MIN_CHANGE_INTERVAL)
        {
            return None;
        }
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < STALE_AFTER;
        let (loudest, level, _) = self
            .levels
            .iter()
            .filter(|(_, level, at)| *level < SPEECH_BELOW_DBOV && fresh(at))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        if Some(*loudest) == self.current {
            return None;
        }
        let current_level = self
            .levels
            .iter()
            .find(|(p, _, at)| Some(*p) == self.current && fresh(at))
            .map(|(_, level, _)| *level);
        if current_level.is_some_and(|current| current - level < TAKEOVER_MARGIN) {
            return None;
        }
        self.current = Some(*loudest);
        self.last_change = Some(now);
        self.current
    }

    /// The active speaker now, if any.
    pub fn current(&self) -> Option<ParticipantId> {
        self.current
    }

    /// Forgets a participant who left.
    pub fn remove(&mut self, participant: ParticipantId) {
        self.levels.retain(|(p, _, _)| *p != participant);
        if self.current == Some(participant) {
            self.current = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ParticipantId = ParticipantId(1);
    const B: ParticipantId = ParticipantId(2);
    const PACKET: Duration = Duration::from_millis(20);

    /// Feeds `ms` of 20 ms packets from each (participant, level); returns the changes seen.
    fn talk(
        d: &mut SpeakerDetector,
        start: Instant,
        ms: u64,
        who: &[(ParticipantId, u8)],
    ) -> Vec<(u64, ParticipantId)> {
        let mut changes = Vec::new();
        for step in 0..ms / 20 {
            let now = start + PACKET * step as u32;
            for &(p, level) in who {
                d.feed(p, level, now);
            }
            if let Some(p) = d.poll(now) {
                changes.push((step * 20, p));
            }
        }
        changes
    }

    #[test]
    fn a_talker_becomes_the_active_speaker_after_a_moment() {
        let mut d = SpeakerDetector::default();
        let changes = talk(&mut d, Instant::now(), 2_000, &[(A, 30), (B, 127)]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        let (at, who) = changes[0];
        assert_eq!(who, A);
        assert!((100..=1_000).contains(&at), "after {at} ms");
        assert_eq!(d.current(), Some(A), "kept for newcomers");
    }

    #[test]
    fn silence_and_background_noise_make_no_speaker() {
        let mut d = SpeakerDetector::default();
        let changes = talk(&mut d, Instant::now(), 3_000, &[(A, 127), (B, 80)]);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_single_loud_packet_makes_no_speaker() {
        let mut d = SpeakerDetector::default();
        let now = Instant::now();
        d.feed(A, 0, now);
        assert_eq!(d.poll(now), None);
    }

    #[test]
    fn the_floor_passes_when_the_other_talks_and_the_first_stops() {
        let mut d = SpeakerDetector::default();
        let start = Instant::now();
        assert_eq!(talk(&mut d, start, 2_000, &[(A, 30), (B, 127)]).len(), 1);
        let later = start + Duration::from_secs(2);
        let changes = talk(&mut d, later, 3_000, &[(A, 127), (B, 25)]);
        assert_eq!(changes.last().map(|c| c.1), Some(B), "{changes:?}");
        assert_eq!(changes.len(), 1, "no flicker: {changes:?}");
    }

    #[test]
    fn two_talkers_at_the_same_level_do_not_flicker() {
        let mut d = SpeakerDetector::default();
        let changes = talk(&mut d, Instant::now(), 5_000, &[(A, 30), (B, 31)]);
        assert_eq!(changes.len(), 1, "{changes:?}");
    }

    #[test]
    fn changes_are_at_least_the_minimum_interval_apart() {
        let mut d = SpeakerDetector::default();
        let start = Instant::now();
        let mut all = Vec::new();
        // The loud one alternates every 100 ms: far faster than the speaker may change.
        for round in 0..40u32 {
            let (loud, quiet) = if round % 2 == 0 { (A, B) } else { (B, A) };
            let at = start + Duration::from_millis(100) * round;
            for (t, p) in talk(&mut d, at, 100, &[(loud, 0), (quiet, 100)]) {
                all.push((u64::from(round) * 100 + t, p));
            }
        }
        for pair in all.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= 500, "{all:?}");
        }
    }

    #[test]
    fn a_speaker_who_left_is_forgotten() {
        let mut d = SpeakerDetector::default();
        let start = Instant::now();
        talk(&mut d, start, 2_000, &[(A, 30)]);
        d.remove(A);
        let changes = talk(&mut d, start + Duration::from_secs(2), 2_000, &[(B, 40)]);
        assert_eq!(changes.first().map(|c| c.1), Some(B));
    }
}
