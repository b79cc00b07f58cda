//! Which simulcast layer of a video track each subscriber gets, and when it may change.
//!
//! A publisher may send its camera as up to three simulcast layers (RTP streams told apart by
//! their rid). Each subscriber receives exactly one of them on its m-line. Which one is a policy
//! ([`LayerPolicy`]; by default [`UpTo`]: the best layer the publisher sends that is not above
//! what the subscriber's tile needs, nor above what its downlink allows). A subscriber can only start decoding a layer at one of
//! its keyframes, so [`LayerSelector`] keeps forwarding the current layer until the target layer's
//! keyframe arrives, asks for that keyframe, and then switches (the rewrite unit makes the switch
//! seamless). A track without simulcast is the one-layer case of the same logic: a new subscriber
//! waits for its first keyframe.

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// Most simulcast layers of one track (browsers send up to three).
pub const MAX_LAYERS: usize = 3;
/// A subscriber still waiting for a keyframe asks again this often (the first request or its
/// keyframe may have been lost).
pub const KEYFRAME_RETRY: Duration = Duration::from_millis(1_000);

/// A simulcast quality, as the control plane names it (from the size of the subscriber's tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Low,
    Medium,
    High,
}

/// The layers of one published video track, lowest quality first.
///
/// Quality is taken from the order of the rids in the publisher's `a=simulcast` line, which the
/// web client writes lowest first (as Chrome's examples and most SFUs expect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackLayers {
    rids: [Option<Rid>; MAX_LAYERS],
    count: usize,
    /// Layers whose packets arrive (seen, and not reported paused since).
    active: [bool; MAX_LAYERS],
}

impl TrackLayers {
    /// A track without simulcast: one layer, no rid.
    pub fn single() -> Self {
        TrackLayers {
            rids: [None; MAX_LAYERS],
            count: 1,
            active: [false; MAX_LAYERS],
        }
    }

    /// A simulcast track with these rids, lowest quality first (beyond [`MAX_LAYERS`] ignored).
    pub fn simulcast(rids: &[Rid]) -> Self {
        if rids.is_empty() {
            return Self::single();
        }
        let mut layers = TrackLayers {
            rids: [None; MAX_LAYERS],
            count: rids.len().min(MAX_LAYERS),
            active: [false; MAX_LAYERS],
        };
        for (slot, rid) in rids.iter().take(MAX_LAYERS).enumerate() {
            layers.rids[slot] = Some(*rid);
        }
        layers
    }

    /// The layer a packet with `rid` belongs to, if the track has it.
    pub fn slot(&self, rid: Option<Rid>) -> Option<usize> {
        self.rids[..self.count].iter().position(|r| *r == rid)
    }

    /// The rid of a layer (`None` without simulcast).
    pub fn rid(&self, slot: usize) -> Option<Rid> {
        self.rids.get(slot).copied().flatten()
    }

    /// How many layers the track has.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Always false: a track has at least one layer.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The quality of a layer: three layers are low, medium, high; two are low and high; a single
    /// one is high.
    pub fn quality(&self, slot: usize) -> Layer {
        match (self.count, slot) {
            (3, 0) | (2, 0) => Layer::Low,
            (3, 1) => Layer::Medium,
            _ => Layer::High,
        }
    }

    /// Packets of this layer arrive (`true`), or it was reported paused (`false`).
    pub fn set_active(&mut self, slot: usize, active: bool) {
        if let Some(a) = self.active.get_mut(slot) {
            *a = active;
        }
    }

    /// Whether packets of this layer arrive.
    pub fn is_active(&self, slot: usize) -> bool {
        self.active.get(slot).copied().unwrap_or(false)
    }
}

/// Chooses the layer a subscriber should get. One trait so that other policies (by the
/// subscriber's estimated bandwidth, say) can replace the default without touching the forwarder.
pub trait LayerPolicy {
    /// The layer to forward to a subscriber preferring `preferred`, among the active layers of
    /// `layers`; `None` when no layer is active.
    fn target(&self, preferred: Layer, layers: &TrackLayers) -> Option<usize>;
}

/// The default policy, within what the subscriber's downlink allows: the best active layer not
/// above the preferred quality nor above layer `.0`; if there is none, the lowest active layer
/// (something beats a frozen tile; the allocator pauses a video it cannot pay for).
#[derive(Debug, Clone, Copy)]
pub struct UpTo(pub usize);

impl UpTo {
    /// No limit from the downlink: the preferred quality decides.
    pub const ALL: UpTo = UpTo(MAX_LAYERS - 1);
}

impl LayerPolicy for UpTo {
    fn target(&self, preferred: Layer, layers: &TrackLayers) -> Option<usize> {
        let slots = 0..layers.len();
        let fitting = slots
            .clone()
            .rev()
            .filter(|&s| s <= self.0)
            .find(|&s| layers.is_active(s) && layers.quality(s) <= preferred);
        fitting.or_else(|| slots.clone().find(|&s| layers.is_active(s)))
    }
}

/// What to do with one packet for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forward it on the current layer.
    Forward,
    /// Forward it as the first packet of a new source: the keyframe the subscriber waited for.
    Switch,
    /// Drop it: another layer than the one this subscriber gets.
    OtherLayer,
    /// Drop it: this is the layer wanted, but decoding can only start at its keyframe.
    AwaitKeyframe,
}

/// The verdict on one packet, with a keyframe to ask the publisher for, if one is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    /// Ask for a keyframe of this layer (already throttled per subscriber by [`KEYFRAME_RETRY`]).
    pub ask_keyframe: Option<usize>,
}

/// One subscriber's layer of one video track.
#[derive(Debug, Clone)]
pub struct LayerSelector {
    /// The quality the subscriber's tile needs.
    pub preferred: Layer,
    current: Option<usize>,
    asked: Option<Instant>,
}

impl LayerSelector {
    /// A subscriber that has received nothing yet and waits for a keyframe.
    pub fn new(preferred: Layer) -> Self {
        LayerSelector {
            preferred,
            current: None,
            asked: None,
        }
    }

    /// The layer forwarded now, if any.
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    /// Forwarding stops until the next keyframe (media was interrupted, e.g. a publishing right
    /// was withdrawn and given back).
    pub fn restart(&mut self) {
        self.current = None;
        self.asked = None;
    }

    /// Decides about a packet of layer `slot` (`keyframe`: it starts a keyframe) at `now`.
    pub fn decide(
        &mut self,
        policy: &impl LayerPolicy,
        layers: &TrackLayers,
        slot: usize,
        keyframe: bool,
        now: Instant,
    ) -> Verdict {
        let target = policy.target(self.preferred, layers).unwrap_or(slot);
        let decision = if slot == target && keyframe && self.current != Some(slot) {
            self.current = Some(slot);
            self.asked = None;
            Decision::Switch
        } else if self.current == Some(slot) {
            // Keep the current layer until the target's keyframe arrives.
            Decision::Forward
        } else if slot == target {
            Decision::AwaitKeyframe
        } else {
            Decision::OtherLayer
        };
        let waiting = self.current != Some(target);
        let due = self
            .asked
            .is_none_or(|at| now.saturating_duration_since(at) >= KEYFRAME_RETRY);
        let ask_keyframe = (waiting && due).then(|| {
            self.asked = Some(now);
            target
        });
        Verdict {
            decision,
            ask_keyframe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> TrackLayers {
        let mut layers = TrackLayers::simulcast(&["q".into(), "h".into(), "f".into()]);
        for slot in 0..3 {
            layers.set_active(slot, true);
        }
        layers
    }

    fn decide(sel: &mut LayerSelector, layers: &TrackLayers, slot: usize, key: bool) -> Decision {
        sel.decide(&UpTo::ALL, layers, slot, key, Instant::now())
            .decision
    }

    #[test]
    fn rids_are_ranked_in_the_order_the_publisher_lists_them() {
        let layers = three();
        assert_eq!(layers.slot(Some("h".into())), Some(1));
        assert_eq!(layers.slot(Some("x".into())), None);
        assert_eq!(layers.slot(None), None);
        assert_eq!(layers.quality(0), Layer::Low);
        assert_eq!(layers.quality(2), Layer::High);
        let two = TrackLayers::simulcast(&["a".into(), "b".into()]);
        assert_eq!((two.quality(0), two.quality(1)), (Layer::Low, Layer::High));
        let single = TrackLayers::single();
        assert_eq!(single.slot(None), Some(0));
        assert_eq!(single.quality(0), Layer::High);
    }

    #[test]
    fn more_than_three_rids_keep_the_first_three() {
        let rids: Vec<Rid> = ["a", "b", "c", "d"].iter().map(|r| (*r).into()).collect();
        let layers = TrackLayers::simulcast(&rids);
        assert_eq!(layers.len(), 3);
        assert_eq!(layers.slot(Some("d".into())), None);
    }

    #[test]
    fn the_default_target_is_the_highest_layer_sent() {
        assert_eq!(UpTo::ALL.target(Layer::High, &three()), Some(2));
        assert_eq!(UpTo::ALL.target(Layer::Medium, &three()), Some(1));
        assert_eq!(UpTo::ALL.target(Layer::Low, &three()), Some(0));
    }

    #[test]
    fn a_layer_the_publisher_stopped_sending_is_not_a_target() {
        let mut layers = three();
        layers.set_active(2, false);
        assert_eq!(UpTo::ALL.target(Layer::High, &layers), Some(1));
        layers.set_active(0, false);
        layers.set_active(1, false);
        layers.set_active(2, true);
        // Only a layer above the preferred one: better than nothing.
        assert_eq!(UpTo::ALL.target(Layer::Low, &layers), Some(2));
        layers.set_active(2, false);
        assert_eq!(UpTo::ALL.target(Layer::Low, &layers), None);
    }

    #[test]
    fn the_downlink_allowance_caps_the_target() {
        assert_eq!(UpTo(1).target(Layer::High, &three()), Some(1));
        assert_eq!(UpTo(2).target(Layer::Medium, &three()), Some(1));
        assert_eq!(UpTo(0).target(Layer::High, &three()), Some(0));
        let mut layers = three();
        layers.set_active(0, false);
        // Nothing active within the allowance: the lowest that is sent.
        assert_eq!(UpTo(0).target(Layer::High, &layers), Some(1));
    }

    #[test]
    fn a_new_subscriber_waits_for_a_keyframe_of_its_target_and_asks_for_one() {
        let layers = three();
        let mut sel = LayerSelector::new(Layer::High);
        let now = Instant::now();
        let v = sel.decide(&UpTo::ALL, &layers, 2, false, now);
        assert_eq!(v.decision, Decision::AwaitKeyframe);
        assert_eq!(v.ask_keyframe, Some(2));
        // Asked once, not again at every packet.
        let v = sel.decide(&UpTo::ALL, &layers, 0, true, now);
        assert_eq!(
            v,
            Verdict {
                decision: Decision::OtherLayer,
                ask_keyframe: None
            }
        );
        let v = sel.decide(&UpTo::ALL, &layers, 2, false, now + KEYFRAME_RETRY);
        assert_eq!(v.ask_keyframe, Some(2), "asked again when nothing came");
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::Switch);
        assert_eq!(decide(&mut sel, &layers, 2, false), Decision::Forward);
        assert_eq!(decide(&mut sel, &layers, 1, false), Decision::OtherLayer);
        assert_eq!(sel.current(), Some(2));
    }

    #[test]
    fn a_lower_preference_switches_only_at_the_lower_layers_keyframe() {
        let layers = three();
        let mut sel = LayerSelector::new(Layer::High);
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::Switch);
        sel.preferred = Layer::Low;
        let now = Instant::now();
        // The high layer goes on until the low layer's keyframe, which is asked for.
        let v = sel.decide(&UpTo::ALL, &layers, 2, false, now);
        assert_eq!(
            v,
            Verdict {
                decision: Decision::Forward,
                ask_keyframe: Some(0)
            }
        );
        assert_eq!(decide(&mut sel, &layers, 0, false), Decision::AwaitKeyframe);
        assert_eq!(decide(&mut sel, &layers, 2, false), Decision::Forward);
        assert_eq!(decide(&mut sel, &layers, 0, true), Decision::Switch);
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::OtherLayer);
        assert_eq!(decide(&mut sel, &layers, 0, false), Decision::Forward);
    }

    #[test]
    fn a_keyframe_of_the_current_layer_is_not_a_switch() {
        let layers = three();
        let mut sel = LayerSelector::new(Layer::High);
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::Switch);
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::Forward);
    }

    #[test]
    fn when_the_current_layer_stops_the_subscriber_moves_down_at_a_keyframe() {
        let mut layers = three();
        let mut sel = LayerSelector::new(Layer::High);
        assert_eq!(decide(&mut sel, &layers, 2, true), Decision::Switch);
        layers.set_active(2, false);
        let v = sel.decide(&UpTo::ALL, &layers, 1, false, Instant::now());
        assert_eq!(
            v,
            Verdict {
                decision: Decision::AwaitKeyframe,
                ask_keyframe: Some(1)
            }
        );
        assert_eq!(decide(&mut sel, &layers, 1, true), Decision::Switch);
    }

    #[test]
    fn restart_waits_for_a_keyframe_again() {
        let mut layers = TrackLayers::single();
        layers.set_active(0, true);
        let mut sel = LayerSelector::new(Layer::High);
        assert_eq!(decide(&mut sel, &layers, 0, true), Decision::Switch);
        sel.restart();
        assert_eq!(decide(&mut sel, &layers, 0, false), Decision::AwaitKeyframe);
        assert_eq!(decide(&mut sel, &layers, 0, true), Decision::Switch);
    }
}
