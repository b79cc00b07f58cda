//! Keyframe requests on their way to publishers: from subscribers (PLI), from new subscriptions
//! and layer switches, merged and throttled per published layer ([`super::keyframe`]).

use str0m::media::{KeyframeRequestKind, MediaKind, Mid, Rid};

use super::layers::LayerPolicy;
use super::participant::SourceTrack;
use super::ShardCore;
use crate::ids::ParticipantId;

impl ShardCore {
    /// A subscriber asked for a keyframe on one of its m-lines: pass it to the publisher, for
    /// the layer that subscriber gets.
    pub(super) fn on_keyframe_request(&mut self, subscriber: ParticipantId, out_mid: Mid) {
        let Some(participant) = self.participants.get(&subscriber) else {
            return;
        };
        let Some(source) = participant.source_of(out_mid) else {
            return;
        };
        let current = participant
            .subscriptions
            .get(&source)
            .and_then(|s| s.out.layer.current());
        // Waiting for a first keyframe already asks by itself.
        if let Some(slot) = current {
            self.request_keyframe(source.0, source.1, slot);
        }
    }

    /// `subscriber`'s m-line for `source` just opened (or its session connected): ask for the
    /// keyframe it will start at, without waiting for the next packet to notice.
    pub(super) fn request_first_keyframe(
        &mut self,
        subscriber: ParticipantId,
        source: SourceTrack,
    ) {
        let wish = self
            .participants
            .get(&subscriber)
            .and_then(|p| p.subscriptions.get(&source))
            .and_then(|s| Some((s.out.layer.preferred, s.out.policy().ok()?)));
        let target = self
            .participants
            .get(&source.0)
            .and_then(|p| p.published.get(&source.1))
            .zip(wish)
            .and_then(|(track, (preferred, policy))| policy.target(preferred, &track.layers));
        if let Some(slot) = target {
            self.request_keyframe(source.0, source.1, slot);
        }
    }

    /// Asks `publisher` for a keyframe of layer `slot` of `mid`, merged and throttled.
    pub(super) fn request_keyframe(&mut self, publisher: ParticipantId, mid: Mid, slot: usize) {
        let now = self.now;
        let Some(track) = self
            .participants
            .get_mut(&publisher)
            .and_then(|p| p.published.get_mut(&mid))
        else {
            return;
        };
        // Before a layer's first packet there is nobody to ask, and its encoder starts with a
        // keyframe anyway; asking would only spend the throttle's slot.
        if track.kind != MediaKind::Video || !track.layers.is_active(slot) {
            return;
        }
        let Some(gate) = track.keyframes.get_mut(slot) else {
            return;
        };
        if !gate.request(now) {
            self.counters.keyframe_requests_merged += 1;
            if !self.deferred_keyframes.contains(&(publisher, mid, slot)) {
                self.deferred_keyframes.push((publisher, mid, slot));
            }
            return;
        }
        let rid = track.layers.rid(slot);
        self.send_keyframe_request(publisher, mid, rid);
    }

    /// Sends the merged requests whose slot has come.
    pub(super) fn release_deferred_keyframes(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        self.deferred_keyframes.retain(|(publisher, mid, slot)| {
            let Some(track) = self
                .participants
                .get_mut(publisher)
                .and_then(|p| p.published.get_mut(mid))
            else {
                return false;
            };
            let Some(gate) = track.keyframes.get_mut(*slot) else {
                return false;
            };
            if gate.poll(now) {
                due.push((*publisher, *mid, track.layers.rid(*slot)));
                return false;
            }
            gate.deadline().is_some()
        });
        for (publisher, mid, rid) in due {
            self.send_keyframe_request(publisher, mid, rid);
        }
    }

    fn send_keyframe_request(&mut self, publisher: ParticipantId, mid: Mid, rid: Option<Rid>) {
        let Some(participant) = self.participants.get_mut(&publisher) else {
            return;
        };
        let mut api = participant.rtc.direct_api();
        let Some(stream) = api.stream_rx_by_mid(mid, rid) else {
            return;
        };
        stream.request_keyframe(KeyframeRequestKind::Pli);
        self.counters.keyframe_requests_sent += 1;
        self.mark_dirty(publisher);
    }
}
