//! What the control plane asks of a shard, and what a shard tells the control plane back.

use crate::ids::{ParticipantId, RoomId};

/// What a published track carries, as its publisher declared it. Rights are granted per source,
/// so a pupil may share a screen while their camera is off, or the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackSource {
    Mic,
    Camera,
    Screen,
}

impl TrackSource {
    /// The source assumed for an m-line its publisher did not declare.
    pub fn default_for(kind: TrackKind) -> TrackSource {
        match kind {
            TrackKind::Audio => TrackSource::Mic,
            TrackKind::Video => TrackSource::Camera,
        }
    }
}

/// Which sources a participant's media is forwarded for. A source whose right is off is dropped
/// at the shard (counted as `dropped_not_allowed`); nothing is renegotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishRights {
    pub mic: bool,
    pub camera: bool,
    pub screen: bool,
}

impl Default for PublishRights {
    fn default() -> Self {
        PublishRights {
            mic: true,
            camera: true,
            screen: true,
        }
    }
}

impl PublishRights {
    /// Whether media of `source` may be forwarded.
    pub fn allows(&self, source: TrackSource) -> bool {
        match source {
            TrackSource::Mic => self.mic,
            TrackSource::Camera => self.camera,
            TrackSource::Screen => self.screen,
        }
    }
}

/// A request from the control plane (signalling) to the shard that holds the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The participant's first SDP offer: creates its WebRTC session in `room`. `sources` names
    /// what each of its m-lines (by mid) carries; undeclared audio is the mic, video the camera.
    Join {
        room: RoomId,
        participant: ParticipantId,
        offer: String,
        sources: Vec<(String, TrackSource)>,
    },
    /// A later offer from the participant (it publishes something new, or restarts ICE).
    Offer {
        participant: ParticipantId,
        sdp: String,
        sources: Vec<(String, TrackSource)>,
    },
    /// What the participant may publish from now on. Ignored for a participant without a media
    /// session (the control plane sends it again right after `Join`).
    SetRights {
        participant: ParticipantId,
        rights: PublishRights,
    },
    /// The participant's answer to the shard's last offer.
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    /// The participant leaves: everything it held is freed and others stop receiving it.
    Leave { participant: ParticipantId },
}

impl Command {
    /// The participant this command is about.
    pub fn participant(&self) -> ParticipantId {
        match self {
            Command::Join { participant, .. }
            | Command::Offer { participant, .. }
            | Command::Answer { participant, .. }
            | Command::SetRights { participant, .. }
            | Command::Leave { participant } => *participant,
        }
    }
}

/// Audio or video, as the control plane names a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    Audio,
    Video,
}

/// Something the shard tells the control plane about one participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// Answer to the participant's offer.
    Answer { sdp: String },
    /// An offer from the shard (tracks of others to receive, or tracks that ended).
    Offer { sdp: String },
    /// The m-line `mid` in the next offer carries `publisher`'s track of `kind` from `source`.
    TrackAdded {
        mid: String,
        publisher: ParticipantId,
        kind: TrackKind,
        source: TrackSource,
    },
    /// The track on m-line `mid` ended.
    TrackRemoved { mid: String },
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
    BadSdp(String),
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
}
