//! One participant's WebRTC session inside a shard: what it publishes, what it receives, and the
//! server side of its SDP negotiation.

use std::collections::HashMap;
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, MediaKind, Mid, Rid};
use str0m::Rtc;

use super::keyframe::{KeyframeGate, KEYFRAME_REQUEST_INTERVAL};
use crate::command::{MediaEvent, PublishRights, TrackKind, TrackSource};
use crate::ids::{ParticipantId, RoomId};

/// A track as its publisher sent it: the publisher and the m-line it arrives on.
pub(crate) type SourceTrack = (ParticipantId, Mid);

/// A track this participant sends to the shard.
#[derive(Debug)]
pub(crate) struct PublishedTrack {
    pub kind: MediaKind,
    /// Mic, camera or screen: which right gates it.
    pub source: TrackSource,
    pub keyframes: KeyframeGate,
    /// The simulcast layer forwarded (until layer selection arrives: the first one seen).
    pub forwarded_rid: Option<Rid>,
}

impl PublishedTrack {
    pub fn new(kind: MediaKind, source: TrackSource) -> Self {
        PublishedTrack {
            kind,
            source,
            keyframes: KeyframeGate::new(KEYFRAME_REQUEST_INTERVAL),
            forwarded_rid: None,
        }
    }
}

/// Where the m-line that carries one remote track to this participant stands in negotiation.
///
/// m-lines are never stopped: str0m's offers cannot recycle a stopped slot, so a class with
/// pupils coming and going would grow its SDP without bound. A track that ends makes its m-line
/// `inactive` and idle; the next track of the same kind takes it back (`sendonly` again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutState {
    /// Wants an m-line in the next offer.
    ToOpen,
    /// Offered on `Mid`, answer awaited.
    Negotiating(Mid),
    /// Negotiated: media is written to `Mid`.
    Open(Mid),
    /// Its publisher left: the m-line goes inactive in the next offer.
    ToRelease(Mid),
    /// Inactive offered, answer awaited; then the m-line is idle.
    Releasing(Mid),
}

/// A remote track this participant receives.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub kind: MediaKind,
    pub source: TrackSource,
    pub state: OutState,
    /// The publisher left while the m-line was being offered: release it once the answer is in.
    pub orphaned: bool,
    /// The track was published again while its m-line was being released: open it again once
    /// the release is answered.
    pub reopen: bool,
}

impl Subscription {
    pub fn open_mid(&self) -> Option<Mid> {
        match self.state {
            OutState::Open(mid) => Some(mid),
            _ => None,
        }
    }
}

/// A participant's session in the shard.
#[derive(Debug)]
pub(crate) struct Participant {
    pub room: RoomId,
    pub rtc: Rtc,
    /// When str0m next wants `Input::Timeout`.
    pub next_timeout: Instant,
    pub published: HashMap<Mid, PublishedTrack>,
    pub subscriptions: HashMap<SourceTrack, Subscription>,
    /// Negotiated, inactive m-lines waiting for the next remote track of their kind.
    pub idle: Vec<(MediaKind, Mid)>,
    pub pending_offer: Option<SdpPendingOffer>,
    pub connected: bool,
    /// What its media is forwarded for (the control plane's rights; all on until told).
    pub rights: PublishRights,
    /// What the participant declared each of its m-lines to carry.
    pub declared: HashMap<Mid, TrackSource>,
}

impl Participant {
    pub fn new(room: RoomId, rtc: Rtc, now: Instant) -> Self {
        Participant {
            room,
            rtc,
            next_timeout: now,
            published: HashMap::new(),
            subscriptions: HashMap::new(),
            idle: Vec::new(),
            pending_offer: None,
            connected: false,
            rights: PublishRights::default(),
            declared: HashMap::new(),
        }
    }

    /// Records what the participant's m-lines carry (from `Join`/`Offer`). A later declaration
    /// of a mid replaces the earlier one; a track already published keeps its source.
    pub fn declare(&mut self, sources: &[(String, TrackSource)]) {
        for (mid, source) in sources {
            self.declared.insert(Mid::from(mid.as_str()), *source);
        }
    }

    /// The source of the participant's m-line `mid` of `kind`: declared, else by kind.
    pub fn source_for(&self, mid: Mid, kind: MediaKind) -> TrackSource {
        self.declared
            .get(&mid)
            .copied()
            .unwrap_or_else(|| TrackSource::default_for(track_kind(kind)))
    }

    /// Starts receiving `source` (another participant's track), or keeps receiving it if it was
    /// unpublished and published again before its m-line was released (camera off and on).
    pub fn subscribe(&mut self, source: SourceTrack, kind: MediaKind, from: TrackSource) {
        let Some(sub) = self.subscriptions.get_mut(&source) else {
            self.subscriptions.insert(
                source,
                Subscription {
                    kind,
                    source: from,
                    state: OutState::ToOpen,
                    orphaned: false,
                    reopen: false,
                },
            );
            return;
        };
        match sub.state {
            // Not offered as inactive yet: the m-line simply stays open.
            OutState::ToRelease(mid) => sub.state = OutState::Open(mid),
            OutState::Releasing(_) => sub.reopen = true,
            OutState::Negotiating(_) => sub.orphaned = false,
            OutState::ToOpen | OutState::Open(_) => {}
        }
    }

    /// Stops receiving every track of `publisher`, who left.
    pub fn unsubscribe_all_of(&mut self, publisher: ParticipantId) {
        self.unsubscribe(|(from, _)| *from == publisher);
    }

    /// Stops receiving one track, which its publisher stopped sending.
    pub fn unsubscribe_track(&mut self, source: SourceTrack) {
        self.unsubscribe(|s| *s == source);
    }

    fn unsubscribe(&mut self, ends: impl Fn(&SourceTrack) -> bool) {
        self.subscriptions.retain(|source, sub| {
            if !ends(source) {
                return true;
            }
            sub.reopen = false;
            match sub.state {
                OutState::ToOpen => return false,
                OutState::Negotiating(_) => sub.orphaned = true,
                OutState::Open(mid) => sub.state = OutState::ToRelease(mid),
                OutState::ToRelease(_) | OutState::Releasing(_) => {}
            }
            true
        });
    }

    /// The source track whose media goes out on `mid`.
    pub fn source_of(&self, mid: Mid) -> Option<SourceTrack> {
        self.subscriptions
            .iter()
            .find(|(_, sub)| sub.open_mid() == Some(mid))
            .map(|(source, _)| *source)
    }

    /// Whether an offer should be made now: some m-line wants opening or releasing and no offer
    /// is outstanding. Cheap, unlike building an `SdpApi` to find out.
    pub fn needs_negotiation(&self) -> bool {
        self.pending_offer.is_none()
            && self
                .subscriptions
                .values()
                .any(|s| matches!(s.state, OutState::ToOpen | OutState::ToRelease(_)))
    }

    /// If the m-lines to other participants' tracks changed and no offer is outstanding, makes the
    /// next offer. Returns the events for the control plane: `TrackAdded`/`TrackRemoved` first,
    /// then the `Offer` that carries them.
    pub fn negotiate(&mut self) -> Vec<MediaEvent> {
        let mut events = Vec::new();
        if self.pending_offer.is_some() {
            return events;
        }
        let mut change = self.rtc.sdp_api();
        for ((publisher, _), sub) in self.subscriptions.iter_mut() {
            match sub.state {
                OutState::ToOpen => {
                    let reuse = self.idle.iter().position(|(kind, _)| *kind == sub.kind);
                    let mid = match reuse {
                        Some(index) => {
                            let (_, mid) = self.idle.swap_remove(index);
                            change.set_direction(mid, Direction::SendOnly);
                            mid
                        }
                        None => change.add_media(
                            sub.kind,
                            Direction::SendOnly,
                            Some(publisher.to_string()),
                            None,
                            None,
                        ),
                    };
                    sub.state = OutState::Negotiating(mid);
                    events.push(MediaEvent::TrackAdded {
                        mid: mid.to_string(),
                        publisher: *publisher,
                        kind: track_kind(sub.kind),
                        source: sub.source,
                    });
                }
                OutState::ToRelease(mid) => {
                    change.set_direction(mid, Direction::Inactive);
                    sub.state = OutState::Releasing(mid);
                    events.push(MediaEvent::TrackRemoved {
                        mid: mid.to_string(),
                    });
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return events;
        }
        if let Some((offer, pending)) = change.apply() {
            self.pending_offer = Some(pending);
            events.push(MediaEvent::Offer {
                sdp: offer.to_sdp_string(),
            });
        }
        events
    }

    /// The client accepted the outstanding offer. Moves every m-line on; returns the tracks that
    /// just opened.
    pub fn settle_offer(&mut self) -> Vec<SourceTrack> {
        let mut opened = Vec::new();
        let mut released = Vec::new();
        self.subscriptions.retain(|source, sub| {
            match sub.state {
                OutState::Negotiating(mid) if sub.orphaned => {
                    sub.state = OutState::ToRelease(mid);
                }
                OutState::Negotiating(mid) => {
                    sub.state = OutState::Open(mid);
                    opened.push(*source);
                }
                OutState::Releasing(mid) => {
                    released.push((sub.kind, mid));
                    if !std::mem::take(&mut sub.reopen) {
                        return false;
                    }
                    // Published again meanwhile: it takes an idle m-line in the next offer.
                    sub.state = OutState::ToOpen;
                }
                _ => {}
            }
            true
        });
        self.idle.extend(released);
        opened
    }
}

/// The control plane's name for a str0m media kind.
pub(crate) fn track_kind(kind: MediaKind) -> TrackKind {
    match kind {
        MediaKind::Audio => TrackKind::Audio,
        MediaKind::Video => TrackKind::Video,
    }
}
