//! What the control plane asks of a shard, and what a shard tells the control plane back.

use str0m::change::{SdpAnswer, SdpOffer};

use crate::core::offers_usable_codec;
use crate::ids::{ParticipantId, RoomId};

pub use crate::core::allocation::PauseReason;
pub use crate::core::layers::Layer;

/// A request from the control plane (signalling) to the shard that holds the room.
///
/// Offers and answers arrive parsed ([`ClientOffer`], [`ClientAnswer`]): parsing a large SDP costs
/// milliseconds, and the shard thread forwards every class on it, so the sender parses.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// The participant's first SDP offer: creates its WebRTC session in `room`.
    Join {
        room: RoomId,
        participant: ParticipantId,
        offer: ClientOffer,
        /// What each of its m-lines (by mid) carries, as the client declares it; see
        /// [`TrackSource::undeclared`] for the rest.
        sources: Vec<(String, TrackSource)>,
    },
    /// A later offer from the participant (it publishes something new).
    Offer {
        participant: ParticipantId,
        offer: ClientOffer,
        /// As in `Join`; replaces the earlier declaration.
        sources: Vec<(String, TrackSource)>,
    },
    /// The participant's answer to the shard's last offer.
    Answer {
        participant: ParticipantId,
        answer: ClientAnswer,
    },
    /// The participant leaves: everything it held is freed and others stop receiving it.
    Leave { participant: ParticipantId },
    /// What the participant may publish from now on. Media of a source it may not publish is
    /// dropped at the server (no renegotiation: the tracks stay, silent); when a video right comes
    /// back the publisher is asked for a keyframe.
    SetRights {
        participant: ParticipantId,
        rights: PublishRights,
    },
    /// The simulcast quality `subscriber` should get of `publisher`'s video (e.g. by the size of
    /// its tile). Applies to every video track of that publisher, now and later.
    SetPreferredLayer {
        subscriber: ParticipantId,
        publisher: ParticipantId,
        layer: Layer,
    },
    /// Tell the participant again which videos are paused for it ([`MediaEvent::VideoPaused`]
    /// for each): its client came back after a dropped connection and forgot what it was told.
    RepeatPauses { participant: ParticipantId },
}

impl Command {
    /// The participant this command is about.
    pub fn participant(&self) -> ParticipantId {
        match self {
            Command::Join { participant, .. }
            | Command::Offer { participant, .. }
            | Command::Answer { participant, .. }
            | Command::Leave { participant }
            | Command::SetRights { participant, .. }
            | Command::RepeatPauses { participant } => *participant,
            Command::SetPreferredLayer { subscriber, .. } => *subscriber,
        }
    }
}

/// A client's SDP offer, parsed and checked to name a codec the shard speaks. Made off the shard
/// thread, by whoever sends the [`Command`].
#[derive(Debug, PartialEq, Eq)]
pub struct ClientOffer(SdpOffer);

impl ClientOffer {
    /// Parses `sdp`. Refused as [`SdpProblem::Unreadable`] when str0m cannot read it, or
    /// [`Rejection::NoUsableCodec`] when no audio or video m-line has a codec we forward.
    pub fn parse(sdp: &str) -> Result<Self, Rejection> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| unreadable(&e))?;
        if !offers_usable_codec(sdp) {
            return Err(Rejection::NoUsableCodec);
        }
        Ok(ClientOffer(offer))
    }

    pub(crate) fn into_inner(self) -> SdpOffer {
        self.0
    }
}

/// A client's SDP answer to the shard's offer, parsed off the shard thread.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientAnswer(SdpAnswer);

impl ClientAnswer {
    /// Parses `sdp`; refused as [`SdpProblem::Unreadable`] when str0m cannot read it.
    pub fn parse(sdp: &str) -> Result<Self, Rejection> {
        SdpAnswer::from_sdp_string(sdp)
            .map(ClientAnswer)
            .map_err(|e| unreadable(&e))
    }

    pub(crate) fn into_inner(self) -> SdpAnswer {
        self.0
    }
}

/// str0m's parse error quotes the parser's internals (heap addresses among them): it goes to the
/// debug log, and the client gets a fixed sentence.
fn unreadable(error: &str0m::error::SdpError) -> Rejection {
    tracing::debug!(%error, "unreadable SDP");
    Rejection::BadSdp(SdpProblem::Unreadable)
}

/// Audio or video, as the control plane names a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a published track carries. The client declares it per m-line; the server gates
/// publishing rights by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackSource {
    Mic,
    Camera,
    Screen,
}

impl TrackSource {
    /// The source of a track the client did not declare: audio is the microphone, video the camera.
    pub fn undeclared(kind: TrackKind) -> Self {
        match kind {
            TrackKind::Audio => TrackSource::Mic,
            TrackKind::Video => TrackSource::Camera,
        }
    }
}

/// Which sources a participant may publish. The default allows everything: the control plane
/// narrows it (a pupil's microphone until the teacher gives the floor, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishRights {
    pub mic: bool,
    pub camera: bool,
    pub screen: bool,
}

impl PublishRights {
    /// Every source allowed.
    pub const ALL: PublishRights = PublishRights {
        mic: true,
        camera: true,
        screen: true,
    };

    /// Whether media of `source` may be forwarded.
    pub fn allows(&self, source: TrackSource) -> bool {
        match source {
            TrackSource::Mic => self.mic,
            TrackSource::Camera => self.camera,
            TrackSource::Screen => self.screen,
        }
    }
}

impl Default for PublishRights {
    fn default() -> Self {
        Self::ALL
    }
}

/// Something the shard tells the control plane about one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// Answer to the participant's offer.
    Answer { sdp: String },
    /// An offer from the shard (tracks of others to receive, or tracks that ended).
    Offer { sdp: String },
    /// The m-line `mid` in the next offer carries `publisher`'s track of `kind`.
    TrackAdded {
        mid: String,
        publisher: ParticipantId,
        kind: TrackKind,
        /// What the publisher declared the track to be.
        source: TrackSource,
    },
    /// The track on m-line `mid` ended.
    TrackRemoved { mid: String },
    /// `participant` is now the one speaking in the room (sent to every member; at most every
    /// 500 ms, and only on a change).
    ActiveSpeaker { participant: ParticipantId },
    /// The participant no longer receives `publisher`'s video of `source`, and why. Nothing of
    /// it is forwarded until [`MediaEvent::VideoResumed`].
    VideoPaused {
        publisher: ParticipantId,
        source: TrackSource,
        reason: PauseReason,
    },
    /// `publisher`'s video of `source` is forwarded again (from its next keyframe).
    VideoResumed {
        publisher: ParticipantId,
        source: TrackSource,
    },
    /// ICE and DTLS are up: media flows.
    Connected,
    /// A command about this participant was refused; its session goes on unchanged.
    Rejected(Rejection),
    /// The media session ended without a `Leave` (ICE timed out, DTLS failed). It is freed.
    Gone,
}

/// Why a command was refused. Each names what was wrong, for an error message to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The SDP did not parse or did not fit the negotiation state.
    BadSdp(SdpProblem),
    /// The offer's audio/video has no codec the server speaks.
    NoUsableCodec,
    /// The client's offer crossed the shard's own outstanding offer.
    RenegotiationBusy,
    /// An answer arrived with no offer outstanding.
    UnexpectedAnswer,
    /// `Join` for a participant that already has a session.
    AlreadyJoined,
    /// `Offer`/`Answer` for a participant without a session.
    NotJoined,
    /// The shard's configured public address is not a usable ICE candidate: no session can start
    /// until an administrator fixes it.
    NoServerAddress,
}

/// What was wrong with an SDP, in words fixed here: never str0m's text, which quotes parser
/// internals (heap addresses) and is no help to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpProblem {
    /// Not SDP that WebRTC can use (syntax, or a missing `a=mid`, ICE credentials, fingerprint).
    Unreadable,
    /// A well-formed offer that does not fit the session (m-lines removed, reordered or changed
    /// in kind, or an unusable transport).
    OfferDoesNotFit,
    /// The answer does not match the shard's offer; the media session ended.
    AnswerDoesNotFit,
}

impl std::fmt::Display for SdpProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SdpProblem::Unreadable => {
                "it is not SDP a WebRTC session can use (each m-line needs a=mid, ICE credentials and a DTLS fingerprint)"
            }
            SdpProblem::OfferDoesNotFit => {
                "the offer does not fit the media session (keep every m-line, in order and of its kind)"
            }
            SdpProblem::AnswerDoesNotFit => {
                "the answer does not match the server's offer; the media session ended, join the media again"
            }
        })
    }
}
