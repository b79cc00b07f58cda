//! How one subscriber's downlink is shared among the videos it receives.
//!
//! Audio is never allocated: it is always forwarded, and what it takes (measured, or a nominal
//! Opus rate before any measurement) comes off the estimate first. What is left goes to the
//! videos in order of priority: the stage (a screen share, then what the subscriber shows large,
//! which is what asked for the high layer) before thumbnails. Each video first gets its lowest
//! layer, in that order, for as long as the budget holds; a video whose lowest layer does not fit
//! is paused. Then, in the same order, each is raised to the best layer not above its wish that
//! still fits.
//!
//! Switching has hysteresis, so a link near a layer's rate does not flap: a layer is lowered as
//! soon as the estimate no longer holds it, but raised (or a paused video resumed) only when the
//! estimate holds the higher layer with [`UP_MARGIN`] to spare, continuously for [`UP_HOLD`].
//! A video is paused only when the estimate and a third more ([`PAUSE_SLACK`]) would not pay
//! for its lowest layer, for [`PAUSE_CONFIRM`]: an estimate follows what is sent and rises only
//! by probing, so a video just subscribed may not fit at first on a link that has room for it,
//! and a transient overuse (or a loaded machine) takes the estimate to 85 % of what is sent.

use std::time::{Duration, Instant};

use super::layers::MAX_LAYERS;

/// Bits per second.
pub type Bps = u64;

/// A raise must fit in the estimate divided by this.
pub const UP_MARGIN: f64 = 1.25;
/// How long a raise must have fitted before it is made.
pub const UP_HOLD: Duration = Duration::from_secs(3);

/// How long a video must not fit at all before it is paused.
pub const PAUSE_CONFIRM: Duration = Duration::from_secs(2);
/// A video is paused only if the estimate and this much more would not pay for its lowest
/// layer: a dip of the estimate (a transient overuse, a loaded machine) lowers layers but pauses
/// nothing.
pub const PAUSE_SLACK: f64 = 1.33;

/// Why a subscriber does not receive a video it subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PauseReason {
    /// Not even the lowest layer fits in the subscriber's downlink.
    Bandwidth,
    /// The subscriber receives its `last_n` most important videos; this is not one of them.
    LastN,
}

impl PauseReason {
    /// Every reason, in the order of their gauges.
    pub const ALL: [PauseReason; 2] = [PauseReason::Bandwidth, PauseReason::LastN];

    /// The `reason` label on `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            PauseReason::Bandwidth => "bandwidth",
            PauseReason::LastN => "last_n",
        }
    }
}

/// What a subscriber may receive of one video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// Any layer up to this one (a slot of the track's layers).
    UpTo(usize),
    /// Nothing.
    Paused(PauseReason),
}

impl Allowance {
    /// Everything: what a subscriber gets before its downlink is known.
    pub const ALL: Allowance = Allowance::UpTo(MAX_LAYERS - 1);

    /// An order of generosity: paused is below every layer.
    fn rank(self) -> i32 {
        match self {
            Allowance::UpTo(slot) => slot as i32,
            Allowance::Paused(_) => -1,
        }
    }
}

/// One video a subscriber receives, as the allocator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoWant {
    /// The highest layer the subscriber wants of it (its tile's wish, among the layers the
    /// publisher sends); `None` when the publisher sends none now.
    pub wish: Option<usize>,
    /// The rate of each layer, `None` for a layer not sent.
    pub rates: [Option<Bps>; MAX_LAYERS],
    /// Kept out by last-N: paused whatever the budget.
    pub beyond_last_n: bool,
}

impl VideoWant {
    fn lowest(&self) -> Option<usize> {
        self.rates.iter().position(Option::is_some)
    }

    /// What forwarding it under `allowance` costs.
    pub fn rate(&self, allowance: Allowance) -> Bps {
        match allowance {
            // The layer forwarded is the best one sent up to the allowance.
            Allowance::UpTo(slot) => (0..=slot.min(MAX_LAYERS - 1))
                .rev()
                .find_map(|s| self.rates[s])
                .unwrap_or(0),
            Allowance::Paused(_) => 0,
        }
    }
}

/// The allowances `budget` pays for; `wants` come highest priority first (see the module's
/// description).
pub fn share(budget: Bps, wants: &[VideoWant]) -> Vec<Allowance> {
    let mut left = budget;
    let mut allowances: Vec<Allowance> = wants
        .iter()
        .map(|want| {
            if want.beyond_last_n {
                return Allowance::Paused(PauseReason::LastN);
            }
            let Some(lowest) = want.lowest() else {
                // Nothing is sent: nothing to pay for, and nothing to limit or pause either.
                return Allowance::ALL;
            };
            let cost = want.rates[lowest].unwrap_or(0);
            if cost <= left {
                left -= cost;
                Allowance::UpTo(lowest)
            } else {
                Allowance::Paused(PauseReason::Bandwidth)
            }
        })
        .collect();
    for (want, allowance) in wants.iter().zip(allowances.iter_mut()) {
        let (Allowance::UpTo(base), Some(wish)) = (*allowance, want.wish) else {
            continue;
        };
        if base >= wish {
            // The wish itself is met: the link sets no limit on this video.
            *allowance = Allowance::ALL;
            continue;
        }
        let paid = want.rate(*allowance);
        for slot in (base + 1..=wish).rev() {
            let Some(rate) = want.rates[slot] else {
                continue;
            };
            if rate - paid.min(rate) <= left {
                left -= rate - paid.min(rate);
                // Up to the wish: no limit from the link (the wish may change before the next
                // allocation, and a wish is not a link's limit).
                *allowance = match slot == wish {
                    true => Allowance::ALL,
                    false => Allowance::UpTo(slot),
                };
                break;
            }
        }
    }
    allowances
}

/// One video's allowance over time, with hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    pub allowance: Allowance,
    /// Since when a raise has fitted with margin, if it does.
    raise_fits_since: Option<Instant>,
    /// Since when the video has not fitted at all, if it does not.
    unfit_since: Option<Instant>,
}

impl Default for Allocation {
    fn default() -> Self {
        Allocation {
            allowance: Allowance::ALL,
            raise_fits_since: None,
            unfit_since: None,
        }
    }
}

/// What one video gets from three shares of the same estimate, for [`Allocation::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    /// From the whole budget: what the link holds now.
    pub plain: Allowance,
    /// From the budget less [`UP_MARGIN`]: what a raise may go up to.
    pub with_margin: Allowance,
    /// From the budget and [`PAUSE_SLACK`] more: a video unpaid even then does not fit at all.
    pub lenient: Allowance,
}

impl Shares {
    /// The same allowance three times: a link whose estimate is far from every threshold.
    pub fn all(allowance: Allowance) -> Self {
        Shares {
            plain: allowance,
            with_margin: allowance,
            lenient: allowance,
        }
    }
}

impl Allocation {
    /// Moves on to what the estimate allows now. Returns whether the allowance changed.
    pub fn update(&mut self, shares: Shares, now: Instant) -> bool {
        let before = self.allowance;
        let current = before.rank();
        let last_n = |a: Allowance| matches!(a, Allowance::Paused(PauseReason::LastN));
        let paused = |a: Allowance| matches!(a, Allowance::Paused(PauseReason::Bandwidth));
        let unfit = paused(shares.lenient);
        // Not paid for by the estimate, but by a little more: the estimate dipped (a transient
        // overuse takes it to 85 % of what is sent), which is no reason to pause.
        let down = match paused(shares.plain) && !unfit {
            true => shares.lenient,
            false => shares.plain,
        };
        if !unfit {
            self.unfit_since = None;
        }
        if last_n(down) || last_n(before) {
            // Into or out of the last N at once: its order changes slowly by itself, and the
            // budget holds what comes back.
            self.allowance = down;
            self.raise_fits_since = None;
        } else if unfit && current >= 0 {
            self.raise_fits_since = None;
            let since = *self.unfit_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= PAUSE_CONFIRM {
                self.allowance = shares.lenient;
                self.unfit_since = None;
            }
        } else if down.rank() < current {
            self.allowance = down;
            self.raise_fits_since = None;
        } else if shares.with_margin.rank() > current && down.rank() >= shares.with_margin.rank() {
            let since = *self.raise_fits_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= UP_HOLD {
                self.allowance = shares.with_margin;
                self.raise_fits_since = None;
            }
        } else {
            self.raise_fits_since = None;
        }
        self.allowance != before
    }
}

/// Each video's [`Shares`] of `budget`, `wants` highest priority first.
pub fn shares(budget: Bps, wants: &[VideoWant]) -> Vec<Shares> {
    let with_margin = share((budget as f64 / UP_MARGIN) as Bps, wants);
    let lenient = share((budget as f64 * PAUSE_SLACK) as Bps, wants);
    share(budget, wants)
        .into_iter()
        .zip(with_margin)
        .zip(lenient)
        .map(|((plain, with_margin), lenient)| Shares {
            plain,
            with_margin,
            lenient,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Bps = 1_000;

    /// Shares where only the margin differs.
    fn raise(plain: Allowance, with_margin: Allowance) -> Shares {
        Shares {
            plain,
            with_margin,
            lenient: plain,
        }
    }

    fn camera(wish: usize) -> VideoWant {
        VideoWant {
            wish: Some(wish),
            rates: [Some(150 * K), Some(500 * K), Some(1_500 * K)],
            beyond_last_n: false,
        }
    }

    #[test]
    fn a_wide_link_gets_every_wish() {
        let wants = [camera(2), camera(0), camera(0)];
        assert_eq!(share(10_000 * K, &wants), [Allowance::ALL; 3]);
    }

    #[test]
    fn thumbnails_get_their_lowest_layer_before_the_stage_is_raised() {
        // 1.0 Mbit/s: three low layers (450k), then the stage is raised as far as the rest
        // allows: the medium layer (350k more), not the high one (1.35M more).
        let wants = [camera(2), camera(0), camera(0)];
        // Thumbnails that get what they wish are not limited by the link.
        assert_eq!(
            share(1_000 * K, &wants),
            [Allowance::UpTo(1), Allowance::ALL, Allowance::ALL]
        );
    }

    #[test]
    fn what_does_not_fit_is_paused_lowest_priority_first() {
        let wants = [camera(2), camera(0), camera(0)];
        assert_eq!(
            share(320 * K, &wants),
            [
                Allowance::UpTo(0),
                Allowance::ALL,
                Allowance::Paused(PauseReason::Bandwidth)
            ]
        );
        assert_eq!(
            share(100 * K, &wants),
            [Allowance::Paused(PauseReason::Bandwidth); 3]
        );
    }

    #[test]
    fn a_layer_not_sent_is_skipped_and_costs_nothing() {
        let mut want = camera(2);
        want.rates[2] = None;
        assert_eq!(share(5_000 * K, &[want]), [Allowance::UpTo(1)]);
        // (A wish names a layer that is sent; met, it sets no limit.)
        let met = VideoWant {
            wish: Some(1),
            ..want
        };
        assert_eq!(share(5_000 * K, &[met]), [Allowance::ALL]);
        want.rates[0] = None;
        assert_eq!(
            share(400 * K, &[want]),
            [Allowance::Paused(PauseReason::Bandwidth)]
        );
        let silent = VideoWant {
            wish: None,
            rates: [None; MAX_LAYERS],
            ..camera(2)
        };
        assert_eq!(share(0, &[silent]), [Allowance::ALL]);
        assert_eq!(
            share(
                0,
                &[VideoWant {
                    wish: Some(0),
                    ..silent
                }]
            ),
            [Allowance::ALL]
        );
    }

    #[test]
    fn last_n_pauses_whatever_the_budget() {
        let mut beyond = camera(0);
        beyond.beyond_last_n = true;
        assert_eq!(
            share(10_000 * K, &[camera(2), beyond]),
            [Allowance::ALL, Allowance::Paused(PauseReason::LastN)]
        );
    }

    #[test]
    fn down_at_once_up_only_after_the_margin_held() {
        let start = Instant::now();
        let mut allocation = Allocation::default();
        // Down at once.
        assert!(allocation.update(Shares::all(Allowance::UpTo(0)), start));
        assert_eq!(allocation.allowance, Allowance::UpTo(0));
        // A raise that fits only without the margin does not happen.
        assert!(!allocation.update(
            raise(Allowance::UpTo(2), Allowance::UpTo(0)),
            start + UP_HOLD * 2
        ));
        // One that fits with it happens after UP_HOLD, not before.
        let t = start + UP_HOLD * 3;
        assert!(!allocation.update(raise(Allowance::UpTo(2), Allowance::UpTo(1)), t));
        assert!(!allocation.update(
            raise(Allowance::UpTo(2), Allowance::UpTo(1)),
            t + UP_HOLD / 2
        ));
        assert!(allocation.update(raise(Allowance::UpTo(2), Allowance::UpTo(1)), t + UP_HOLD));
        assert_eq!(allocation.allowance, Allowance::UpTo(1));
    }

    #[test]
    fn a_dip_restarts_the_wait_for_a_raise() {
        let start = Instant::now();
        let mut allocation = Allocation {
            allowance: Allowance::Paused(PauseReason::Bandwidth),
            ..Allocation::default()
        };
        allocation.update(Shares::all(Allowance::UpTo(0)), start);
        allocation.update(
            Shares::all(Allowance::Paused(PauseReason::Bandwidth)),
            start + UP_HOLD / 2,
        );
        assert!(!allocation.update(Shares::all(Allowance::UpTo(0)), start + UP_HOLD));
        assert!(allocation.update(Shares::all(Allowance::UpTo(0)), start + UP_HOLD * 2));
        assert_eq!(allocation.allowance, Allowance::UpTo(0));
    }

    #[test]
    fn a_video_is_paused_only_when_it_has_not_fitted_for_a_while() {
        let start = Instant::now();
        let mut allocation = Allocation::default();
        let unfit = Allowance::Paused(PauseReason::Bandwidth);
        assert!(!allocation.update(Shares::all(unfit), start));
        // It fits again (the estimate probed up): the wait starts over.
        assert!(allocation.update(Shares::all(Allowance::UpTo(0)), start));
        assert!(!allocation.update(Shares::all(unfit), start + PAUSE_CONFIRM));
        assert!(!allocation.update(Shares::all(unfit), start + PAUSE_CONFIRM * 3 / 2));
        assert!(allocation.update(Shares::all(unfit), start + PAUSE_CONFIRM * 2));
        assert_eq!(allocation.allowance, unfit);
    }

    #[test]
    fn a_dip_of_the_estimate_lowers_but_does_not_pause() {
        let start = Instant::now();
        let mut allocation = Allocation::default();
        let dip = Shares {
            plain: Allowance::Paused(PauseReason::Bandwidth),
            with_margin: Allowance::Paused(PauseReason::Bandwidth),
            lenient: Allowance::UpTo(0),
        };
        assert!(allocation.update(dip, start));
        assert_eq!(allocation.allowance, Allowance::UpTo(0));
        assert!(!allocation.update(dip, start + PAUSE_CONFIRM * 10));
        assert_eq!(allocation.allowance, Allowance::UpTo(0));
        // A third more than the estimate pays for 150 kbit/s from 113 kbit/s.
        let wants = [VideoWant {
            wish: Some(0),
            rates: [Some(150 * K), None, None],
            beyond_last_n: false,
        }];
        let at = |budget| shares(budget, &wants)[0];
        assert_eq!(at(130 * K).plain, Allowance::Paused(PauseReason::Bandwidth));
        assert_eq!(at(130 * K).lenient, Allowance::ALL);
        assert_eq!(
            at(100 * K).lenient,
            Allowance::Paused(PauseReason::Bandwidth)
        );
    }

    #[test]
    fn leaving_last_n_pauses_at_once_and_coming_back_resumes_at_once() {
        let now = Instant::now();
        let mut allocation = Allocation::default();
        let last_n = Allowance::Paused(PauseReason::LastN);
        assert!(allocation.update(Shares::all(last_n), now));
        assert!(allocation.update(Shares::all(Allowance::UpTo(0)), now));
        assert_eq!(allocation.allowance, Allowance::UpTo(0));
    }
}
