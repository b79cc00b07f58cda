//! What the control plane asks of a shard, and what a shard tells the control plane back.

use crate::ids::{ParticipantId, RoomId};

/// A request from the control plane (signalling) to the shard that holds the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The participant's first SDP offer: creates its WebRTC session in `room`.
    Join {
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    },
    /// A later offer from the participant (it publishes something new).
    Offer {
        participant: ParticipantId,
        sdp: String,
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
    /// The m-line `mid` in the next offer carries `publisher`'s track of `kind`.
    TrackAdded {
        mid: String,
        publisher: ParticipantId,
        kind: TrackKind,
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
