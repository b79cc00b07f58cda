//! Each subscriber's downlink: str0m's estimate of it (transport-wide congestion control, with
//! probing), and the periodic sharing of it among the videos the subscriber receives
//! ([`super::allocation`]), with what changes told to the subscriber.

use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::media::MediaKind;

use super::allocation::{shares, Allowance, Bps, VideoWant};
use super::layers::{Layer, LayerPolicy, UpTo, MAX_LAYERS};
use super::participant::{Participant, PublishedTrack, SourceTrack};
use super::{Output, ShardCore};
use crate::command::{MediaEvent, TrackSource};
use crate::ids::ParticipantId;

/// How often every subscriber's videos are shared out again: a link that shrinks loses its
/// layers within this (plus the next keyframe of the lower layer).
pub const ALLOCATION_INTERVAL: Duration = Duration::from_millis(250);
/// The estimate a session starts from, before any feedback: a modest home line. Starting low
/// would hold every subscriber at the low layers while the estimate climbs; starting too high
/// would flood a weak link until the first feedback (a fraction of a second) brings it down.
pub const INITIAL_ESTIMATE: Bitrate = Bitrate::kbps(2_500);
/// The estimator is asked to probe again when what the wishes need moves by more than this
/// fraction.
const DESIRE_CHANGE: f64 = 0.1;
/// Bounds of the downlink estimate buckets on `/metrics`, in bit/s.
pub const DOWNLINK_BUCKETS_BPS: [Bps; 6] = [
    250_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000,
];

/// A layer's rate before it was measured (its first second): libwebrtc's usual split of a 720p
/// camera (1.5 Mbit/s, a third, a tenth).
fn nominal_rate(quality: Layer) -> Bps {
    match quality {
        Layer::Low => 150_000,
        Layer::Medium => 500_000,
        Layer::High => 1_500_000,
    }
}

/// The rate of each layer a track sends now (`None`: not sent). A layer not measured yet (its
/// first second) counts at its nominal rate, except the track's lowest: a video is not paused
/// on a guess, so that one counts at the low layer's nominal rate whatever its quality.
fn layer_rates(track: &PublishedTrack, now: Instant) -> [Option<Bps>; MAX_LAYERS] {
    let layers = &track.layers;
    let sent = |slot: usize| slot < layers.len() && layers.is_active(slot);
    let lowest = (0..MAX_LAYERS).find(|&slot| sent(slot));
    std::array::from_fn(|slot| {
        sent(slot).then(|| {
            let guess = match Some(slot) == lowest {
                true => Layer::Low,
                false => layers.quality(slot),
            };
            track.rates[slot]
                .rate(now)
                .unwrap_or_else(|| nominal_rate(guess))
        })
    })
}

/// Serve first: screen shares, then what the subscriber shows large (it asked for the high
/// layer), then the rest; among equals, a stable order.
fn priority(source: TrackSource, preferred: Layer, publisher: ParticipantId) -> (u8, u8, u64) {
    let screen = u8::from(source != TrackSource::Screen);
    let large = u8::from(preferred != Layer::High);
    (screen, large, publisher.0)
}

/// One subscriber's videos, as the allocator takes them, and what its audio takes first.
struct Wants {
    audio: Bps,
    sources: Vec<SourceTrack>,
    wants: Vec<VideoWant>,
}

impl ShardCore {
    /// str0m's estimate of `id`'s downlink moved.
    pub(super) fn on_downlink_estimate(&mut self, id: ParticipantId, estimate: Bitrate) {
        if let Some(participant) = self.participants.get_mut(&id) {
            tracing::trace!(participant = %id, %estimate, "downlink estimate");
            participant.downlink = Some(estimate.as_u64());
        }
    }

    /// Shares every subscriber's downlink out again, when [`ALLOCATION_INTERVAL`] has passed.
    pub(super) fn allocate_if_due(&mut self) {
        if !self.downlink_estimation || self.now < self.next_allocation {
            return;
        }
        self.next_allocation = self.now + ALLOCATION_INTERVAL;
        let ids: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| p.connected)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.allocate(id);
        }
    }

    /// When the next allocation is due, if there is anything to allocate.
    pub(super) fn allocation_deadline(&self) -> Option<Instant> {
        (self.downlink_estimation && !self.participants.is_empty()).then_some(self.next_allocation)
    }

    fn allocate(&mut self, id: ParticipantId) {
        let now = self.now;
        let Some(Wants {
            audio,
            sources,
            wants,
        }) = self.wants_of(id)
        else {
            return;
        };
        let desired = audio
            + wants
                .iter()
                .map(|w| w.wish.and_then(|s| w.rates[s]).unwrap_or(0))
                .sum::<Bps>();
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        ask_to_probe_for(participant, desired);
        let Some(estimate) = participant.downlink else {
            return;
        };
        let shares = shares(estimate.saturating_sub(audio), &wants);
        tracing::trace!(subscriber = %id, estimate, audio, ?wants, ?shares, "allocation");
        let mut changes = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let Some(sub) = participant.subscriptions.get_mut(source) else {
                continue;
            };
            let before = sub.out.allocation.allowance;
            if !sub.out.allocation.update(shares[i], now) {
                continue;
            }
            let after = sub.out.allocation.allowance;
            if matches!(after, Allowance::Paused(_)) {
                // Resuming starts at a keyframe, as a new subscriber does.
                sub.out.layer.restart();
            }
            tracing::debug!(subscriber = %id, publisher = %source.0, mid = %source.1, ?before, ?after, "downlink allowance");
            changes.push((*source, sub.source, before, after));
        }
        for (source, kind, before, after) in changes {
            self.tell_allowance(id, source, kind, before, after);
        }
    }

    /// What `id` receives and what it costs, for the allocator; `None` for nobody.
    fn wants_of(&self, id: ParticipantId) -> Option<Wants> {
        let participant = self.participants.get(&id)?;
        let now = self.now;
        let mut audio = 0;
        let mut videos = Vec::new();
        for (source, sub) in &participant.subscriptions {
            if sub.open_mid().is_none() {
                continue;
            }
            let Some(track) = self
                .participants
                .get(&source.0)
                .and_then(|p| p.published.get(&source.1))
            else {
                continue;
            };
            match sub.kind {
                MediaKind::Audio => audio += track.rates[0].rate(now).unwrap_or(0),
                MediaKind::Video => {
                    let preferred = sub.out.layer.preferred;
                    let want = VideoWant {
                        // What it would get with no limit from the link.
                        wish: UpTo::ALL.target(preferred, &track.layers),
                        rates: layer_rates(track, now),
                        beyond_last_n: false,
                    };
                    let key = priority(sub.source, preferred, source.0);
                    videos.push((key, *source, want));
                }
            }
        }
        videos.sort_unstable_by_key(|(key, source, _)| (*key, source.1));
        let (sources, wants) = videos.into_iter().map(|(_, s, w)| (s, w)).unzip();
        Some(Wants {
            audio,
            sources,
            wants,
        })
    }

    /// Tells `id` again about every video paused for it.
    pub(super) fn repeat_pauses(&mut self, id: ParticipantId) {
        let Some(participant) = self.participants.get(&id) else {
            return;
        };
        for ((publisher, _), sub) in &participant.subscriptions {
            if let Allowance::Paused(reason) = sub.out.allocation.allowance {
                let event = MediaEvent::VideoPaused {
                    publisher: *publisher,
                    source: sub.source,
                    reason,
                };
                self.outputs.push_back(Output::Event(id, event));
            }
        }
    }

    /// Tells the subscriber a video paused or resumed.
    fn tell_allowance(
        &mut self,
        subscriber: ParticipantId,
        source: SourceTrack,
        kind: TrackSource,
        before: Allowance,
        after: Allowance,
    ) {
        let event = match (before, after) {
            (Allowance::UpTo(_), Allowance::Paused(reason)) => {
                self.counters.videos_paused += 1;
                MediaEvent::VideoPaused {
                    publisher: source.0,
                    source: kind,
                    reason,
                }
            }
            (Allowance::Paused(_), Allowance::UpTo(_)) => {
                self.request_first_keyframe(subscriber, source);
                MediaEvent::VideoResumed {
                    publisher: source.0,
                    source: kind,
                }
            }
            (Allowance::Paused(_), Allowance::Paused(reason)) => MediaEvent::VideoPaused {
                publisher: source.0,
                source: kind,
                reason,
            },
            (Allowance::UpTo(_), Allowance::UpTo(_)) => {
                // The selector asks for the new layer's keyframe at the track's next packet.
                return;
            }
        };
        self.outputs.push_back(Output::Event(subscriber, event));
    }
}

/// Tells str0m's estimator what this participant's wishes need, so that it probes up to it
/// (asked again only when the need moves by more than [`DESIRE_CHANGE`]).
fn ask_to_probe_for(participant: &mut Participant, desired: Bps) {
    let last = participant.desired as f64;
    if (desired as f64 - last).abs() <= last * DESIRE_CHANGE {
        return;
    }
    participant.desired = desired;
    participant
        .rtc
        .bwe()
        .set_bitrate(Bitrate::ZERO, Bitrate::from(desired));
}
