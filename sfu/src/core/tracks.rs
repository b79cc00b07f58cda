//! Tracks coming and going: a session connecting, a publisher's m-line turning on or off, and
//! what each changes for the others in the room.

use str0m::media::{Direction, MediaKind, Mid, Rids};

use super::layers::TrackLayers;
use super::participant::PublishedTrack;
use super::{Output, ShardCore};
use str0m::rtp::StreamPaused;

use crate::command::MediaEvent;
use crate::ids::ParticipantId;

impl ShardCore {
    pub(super) fn on_connected(&mut self, id: ParticipantId) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        participant.connected = true;
        participant.connect_by = None;
        self.outputs
            .push_back(Output::Event(id, MediaEvent::Connected));
        // What was written before the connection came up is stale by now (str0m queues it): ask
        // every publisher for a keyframe so decoding starts cleanly on fresh media.
        let open: Vec<_> = participant
            .subscriptions
            .iter()
            .filter(|(_, s)| s.open_mid().is_some())
            .map(|(source, _)| *source)
            .collect();
        for source in open {
            self.request_first_keyframe(id, source);
        }
    }

    pub(super) fn on_track_published(&mut self, id: ParticipantId, mid: Mid, kind: MediaKind) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let source = participant.source_of_mid(mid, kind);
        let layers = match participant.rtc.media(mid).map(|m| m.rids_rx()) {
            Some(Rids::Specific(rids)) if kind == MediaKind::Video => TrackLayers::simulcast(rids),
            _ => TrackLayers::single(),
        };
        let track = PublishedTrack::new(kind, source, layers);
        participant.published.insert(mid, track);
        let room = participant.room;
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for other in members.into_iter().filter(|m| *m != id) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.subscribe((id, mid), kind, source);
                self.mark_dirty(other);
            }
        }
    }

    /// The participant turned one of its m-lines on or off (the camera button: the web client
    /// offers `inactive` for a device that is off, `sendonly` once it is on). Our own m-lines
    /// towards it change direction too, but those never receive, and are never in `published`.
    pub(super) fn on_media_changed(&mut self, id: ParticipantId, mid: Mid, direction: Direction) {
        let Some(participant) = self.participants.get(&id) else {
            return;
        };
        let published = participant.published.contains_key(&mid);
        if direction.is_receiving() && !published {
            if let Some(kind) = participant.rtc.media(mid).map(|m| m.kind()) {
                self.on_track_published(id, mid, kind);
            }
        } else if !direction.is_receiving() && published {
            self.on_track_unpublished(id, mid);
        }
    }

    fn on_track_unpublished(&mut self, id: ParticipantId, mid: Mid) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        participant.published.remove(&mid);
        let room = participant.room;
        self.deferred_keyframes
            .retain(|(p, m, _)| (*p, *m) != (id, mid));
        let members = self.rooms.get(&room).cloned().unwrap_or_default();
        for other in members.into_iter().filter(|m| *m != id) {
            if let Some(p) = self.participants.get_mut(&other) {
                p.unsubscribe_track((id, mid));
                self.mark_dirty(other);
            }
        }
    }

    /// A publisher's simulcast layer stopped (the browser cut it for bandwidth or CPU) or came
    /// back: subscribers move to another layer at its next keyframe.
    pub(super) fn on_stream_paused(&mut self, id: ParticipantId, paused: StreamPaused) {
        let track = self
            .participants
            .get_mut(&id)
            .and_then(|p| p.published.get_mut(&paused.mid));
        let Some(track) = track else {
            return;
        };
        if let Some(slot) = track.layers.slot(paused.rid) {
            tracing::debug!(publisher = %id, mid = %paused.mid, layer = slot, paused = paused.paused, "layer paused state");
            track.layers.set_active(slot, !paused.paused);
        }
    }
}
