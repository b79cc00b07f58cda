//! The media path: a publisher's frame to every subscriber in the room, and keyframe requests back.

use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid};

use super::ShardCore;
use crate::ids::ParticipantId;

impl ShardCore {
    /// Writes a publisher's frame to every other member of its room that receives that track.
    pub(super) fn forward(&mut self, publisher: ParticipantId, data: MediaData) {
        let Some(source) = self.participants.get_mut(&publisher) else {
            return;
        };
        let room = source.room;
        let rights = source.rights;
        let Some(track) = source.published.get_mut(&data.mid) else {
            return;
        };
        if !rights.allows(track.source) {
            self.counters.dropped_not_allowed += 1;
            return;
        }
        if let Some(rid) = data.rid {
            let chosen = *track.forwarded_rid.get_or_insert(rid);
            if rid != chosen {
                self.counters.dropped_unselected_layer += 1;
                return;
            }
        }
        if !data.contiguous && track.kind == MediaKind::Video {
            // Frames were lost upstream: subscribers cannot decode until the next keyframe.
            self.request_keyframe(publisher, data.mid);
        }
        let Some(members) = self.rooms.get(&room) else {
            return;
        };
        for member in members {
            if *member == publisher {
                continue;
            }
            let Some(subscriber) = self.participants.get_mut(member) else {
                continue;
            };
            let Some(out_mid) = subscriber
                .subscriptions
                .get(&(publisher, data.mid))
                .and_then(|s| s.open_mid())
            else {
                continue;
            };
            let Some(writer) = subscriber.rtc.writer(out_mid) else {
                self.counters.dropped_write_failed += 1;
                continue;
            };
            let Some(pt) = writer.match_params(data.params) else {
                self.counters.dropped_codec_mismatch += 1;
                continue;
            };
            match writer.write(pt, data.network_time, data.time, data.data.clone()) {
                Ok(()) => self.counters.forwarded += 1,
                Err(e) => {
                    self.counters.dropped_write_failed += 1;
                    tracing::debug!(subscriber = %member, error = %e, "write refused");
                }
            }
            if self.dirty_set.insert(*member) {
                self.dirty.push_back(*member);
            }
        }
    }

    /// A subscriber asked for a keyframe on one of its m-lines: pass it to the publisher.
    pub(super) fn on_keyframe_request(&mut self, subscriber: ParticipantId, out_mid: Mid) {
        let source = self
            .participants
            .get(&subscriber)
            .and_then(|p| p.source_of(out_mid));
        if let Some((publisher, mid)) = source {
            self.request_keyframe(publisher, mid);
        }
    }

    /// Asks `publisher` for a keyframe on `mid`, merged and throttled per track.
    pub(super) fn request_keyframe(&mut self, publisher: ParticipantId, mid: Mid) {
        let now = self.now;
        let Some(participant) = self.participants.get_mut(&publisher) else {
            return;
        };
        // Before the publisher's first packet there is nobody to ask, and its encoder starts with
        // a keyframe anyway; asking would only spend the throttle's slot.
        let possible = participant
            .rtc
            .writer(mid)
            .is_some_and(|w| w.is_request_keyframe_possible(KeyframeRequestKind::Pli));
        let Some(track) = participant.published.get_mut(&mid) else {
            return;
        };
        if track.kind != MediaKind::Video || !possible {
            return;
        }
        if !track.keyframes.request(now) {
            self.counters.keyframe_requests_merged += 1;
            if !self.deferred_keyframes.contains(&(publisher, mid)) {
                self.deferred_keyframes.push((publisher, mid));
            }
            return;
        }
        let rid = track.forwarded_rid;
        self.send_keyframe_request(publisher, mid, rid);
    }

    /// Sends the merged requests whose slot has come.
    pub(super) fn release_deferred_keyframes(&mut self) {
        let now = self.now;
        let mut due = Vec::new();
        self.deferred_keyframes.retain(|(publisher, mid)| {
            let Some(track) = self
                .participants
                .get_mut(publisher)
                .and_then(|p| p.published.get_mut(mid))
            else {
                return false;
            };
            if track.keyframes.poll(now) {
                due.push((*publisher, *mid, track.forwarded_rid));
                return false;
            }
            track.keyframes.deadline().is_some()
        });
        for (publisher, mid, rid) in due {
            self.send_keyframe_request(publisher, mid, rid);
        }
    }

    fn send_keyframe_request(
        &mut self,
        publisher: ParticipantId,
        mid: Mid,
        rid: Option<str0m::media::Rid>,
    ) {
        let Some(participant) = self.participants.get_mut(&publisher) else {
            return;
        };
        let Some(mut writer) = participant.rtc.writer(mid) else {
            return;
        };
        if writer
            .request_keyframe(rid, KeyframeRequestKind::Pli)
            .is_ok()
        {
            self.counters.keyframe_requests_sent += 1;
        }
        if self.dirty_set.insert(publisher) {
            self.dirty.push_back(publisher);
        }
    }
}
