//! What a participant may ask of the class, split by who may ask it.
//!
//! The split is in the type: [`Action::Teacher`] holds a [`TeacherAction`], and the only way to
//! act on one is [`Class::act`], which checks the role once, before dispatch, and hands
//! `moderation.rs` a [`Teacher`] proof that nothing else can make. A new teacher action is a new
//! variant of [`TeacherAction`]: it cannot reach the class without that check, and forgetting a
//! per-arm `require_teacher` (a privilege escalation) is no longer something one can write.
//!
//! [`Class::act`]: super::Class::act

use sfu::ParticipantId;

use crate::protocol::{RightsPatch, SettingsPatch, VideoQuality};

/// Something a participant asks of the class (every client message after `join` but the media
/// negotiation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Anyone in the class may ask (the rules may still refuse, e.g. a muted pupil's chat).
    Member(MemberAction),
    /// Only a teacher may ask: checked once, in [`super::Class::act`].
    Teacher(TeacherAction),
}

/// What any member may ask, about itself or its own view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAction {
    MediaState {
        audio: bool,
        video: bool,
        screen: bool,
    },
    RaiseHand,
    /// Lowers the actor's own hand (someone else's is [`TeacherAction::LowerHand`]).
    LowerOwnHand,
    Chat(String),
    /// The quality the actor needs of a participant's video (see `viewing.rs`).
    VideoQuality(String, VideoQuality),
}

/// What only a teacher may ask: moderation, admission and the class's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeacherAction {
    LowerHand(String),
    LowerAllHands,
    Mute(String),
    MuteAll,
    CameraOff(String),
    StopScreen(String),
    Kick { participant: String, bar: bool },
    SetSettings(SettingsPatch),
    Admit(String),
    Deny(String),
    Promote(String),
    Demote(String),
    GiveFloor(String),
    TakeFloor(String),
    SetRights(String, RightsPatch),
    EndClass,
}

impl TeacherAction {
    /// Finishes "only a teacher may …" for the refusal.
    pub fn what(&self) -> &'static str {
        match self {
            TeacherAction::LowerHand(_) => "lower someone else's hand",
            TeacherAction::LowerAllHands => "lower every hand",
            TeacherAction::Mute(_) => "mute someone",
            TeacherAction::MuteAll => "mute everyone",
            TeacherAction::CameraOff(_) => "turn someone's camera off",
            TeacherAction::StopScreen(_) => "stop someone's screen share",
            TeacherAction::Kick { .. } => "remove someone",
            TeacherAction::SetSettings(_) => "change the class settings",
            TeacherAction::Admit(_) => "let someone in",
            TeacherAction::Deny(_) => "turn someone away",
            TeacherAction::Promote(_) => "promote someone",
            TeacherAction::Demote(_) => "demote someone",
            TeacherAction::GiveFloor(_) => "give the floor",
            TeacherAction::TakeFloor(_) => "take the floor back",
            TeacherAction::SetRights(..) => "change someone's rights",
            TeacherAction::EndClass => "end the class",
        }
    }
}

impl From<MemberAction> for Action {
    fn from(action: MemberAction) -> Self {
        Action::Member(action)
    }
}

impl From<TeacherAction> for Action {
    fn from(action: TeacherAction) -> Self {
        Action::Teacher(action)
    }
}

/// Proof that a member was a teacher when its action was dispatched. Its field is private to
/// this module, so only [`Teacher::check`] (called by `Class::act`) makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Teacher(ParticipantId);

impl Teacher {
    /// `Some` when `is_teacher` says so of `who`.
    pub(super) fn check(who: ParticipantId, is_teacher: bool) -> Option<Teacher> {
        is_teacher.then_some(Teacher(who))
    }

    /// The teacher's id.
    pub fn id(self) -> ParticipantId {
        self.0
    }
}
