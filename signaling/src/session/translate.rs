//! Between the wire and the rest of the node: which class action a client message asks for, and
//! what the client is told when the shard refuses a command.

use sfu::{Rejection, TrackSource};

use crate::class::Action;
use crate::protocol::{ClientMessage, ErrorCode, ProtocolError, SettingsPatch, Source};

/// The class action a client message asks for; `None` for messages handled elsewhere. Which of
/// them only a teacher may ask is decided here, by type, and checked once by `Class::act`.
pub(super) fn action_of(message: ClientMessage) -> Option<Action> {
    use crate::class::{MemberAction as M, TeacherAction as T};
    let settings = |patch| Some(T::SetSettings(patch).into());
    match message {
        ClientMessage::MediaState {
            audio,
            video,
            screen,
        } => Some(
            M::MediaState {
                audio,
                video,
                screen,
            }
            .into(),
        ),
        ClientMessage::RaiseHand => Some(M::RaiseHand.into()),
        ClientMessage::LowerHand { participant: None } => Some(M::LowerOwnHand.into()),
        ClientMessage::Chat { text } => Some(M::Chat(text).into()),
        ClientMessage::VideoQuality {
            participant,
            quality,
        } => Some(M::VideoQuality(participant, quality).into()),
        ClientMessage::LowerHand {
            participant: Some(participant),
        } => Some(T::LowerHand(participant).into()),
        ClientMessage::LowerAllHands => Some(T::LowerAllHands.into()),
        ClientMessage::Mute { participant } => Some(T::Mute(participant).into()),
        ClientMessage::MuteAll => Some(T::MuteAll.into()),
        ClientMessage::CameraOff { participant } => Some(T::CameraOff(participant).into()),
        ClientMessage::StopScreen { participant } => Some(T::StopScreen(participant).into()),
        ClientMessage::Kick { participant, bar } => Some(T::Kick { participant, bar }.into()),
        ClientMessage::Lock { locked } => settings(SettingsPatch {
            locked: Some(locked),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetGuestPolicy { policy } => settings(SettingsPatch {
            guest_policy: Some(policy),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetChat { enabled } => settings(SettingsPatch {
            chat: Some(enabled),
            ..SettingsPatch::default()
        }),
        ClientMessage::SetSettings { settings: patch } => settings(patch),
        ClientMessage::Admit { participant } => Some(T::Admit(participant).into()),
        ClientMessage::Deny { participant } => Some(T::Deny(participant).into()),
        ClientMessage::Promote { participant } => Some(T::Promote(participant).into()),
        ClientMessage::Demote { participant } => Some(T::Demote(participant).into()),
        ClientMessage::GiveFloor { participant } => Some(T::GiveFloor(participant).into()),
        ClientMessage::TakeFloor { participant } => Some(T::TakeFloor(participant).into()),
        ClientMessage::SetRights {
            participant,
            rights,
        } => Some(T::SetRights(participant, rights).into()),
        ClientMessage::EndClass => Some(T::EndClass.into()),
        ClientMessage::Join { .. }
        | ClientMessage::Resume { .. }
        | ClientMessage::Offer { .. }
        | ClientMessage::Answer { .. }
        | ClientMessage::Leave
        | ClientMessage::Ping
        | ClientMessage::IceServers
        | ClientMessage::Check { .. }
        | ClientMessage::CheckOffer { .. } => None,
    }
}

/// The protocol's name for a source the shard names.
pub(super) fn source_name(source: TrackSource) -> Source {
    match source {
        TrackSource::Mic => Source::Mic,
        TrackSource::Camera => Source::Camera,
        TrackSource::Screen => Source::Screen,
    }
}

pub(super) fn track_source(source: Source) -> TrackSource {
    match source {
        Source::Mic => TrackSource::Mic,
        Source::Camera => TrackSource::Camera,
        Source::Screen => TrackSource::Screen,
    }
}

/// The error a client gets for a command the shard refused. Each says what was wrong in a fixed
/// sentence (never the media library's own text).
pub(super) fn rejection_error(why: Rejection) -> ProtocolError {
    match why {
        Rejection::BadSdp(problem) => {
            ProtocolError::new(ErrorCode::BadSdp, format!("the SDP was refused: {problem}"))
        }
        Rejection::NoUsableCodec => ProtocolError::new(
            ErrorCode::NoUsableCodec,
            "the offer has no codec this server speaks (Opus for audio; VP8 or H.264 for video)",
        ),
        Rejection::RenegotiationBusy => ProtocolError::new(
            ErrorCode::RenegotiationBusy,
            "answer the server's offer first, then send yours again",
        ),
        Rejection::UnexpectedAnswer => ProtocolError::new(
            ErrorCode::UnexpectedAnswer,
            "there is no offer from the server to answer",
        ),
        Rejection::NotJoined => ProtocolError::new(
            ErrorCode::BadSdp,
            "no media session yet: send your offer again",
        ),
        Rejection::AlreadyJoined => ProtocolError::new(
            ErrorCode::AlreadyJoined,
            "this participant already has a media session",
        ),
        Rejection::NoServerAddress => ProtocolError::new(
            ErrorCode::ServerError,
            "the media server has no usable address; tell the administrator",
        ),
    }
}
