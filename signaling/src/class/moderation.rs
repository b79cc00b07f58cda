//! Teachers' actions. Only a teacher reaches here: [`Class::moderate`] takes the [`Teacher`] proof
//! that `Class::act` makes after its one role check (see `action.rs`). None acts on a teacher (but
//! `demote`, on a co-teacher). Rights changes take effect at the shard at once through
//! [`Class::settle`].

use std::time::Instant;

use sfu::ParticipantId;

use super::{parse_id, rights, Class, Outcome, Teacher, TeacherAction, MAX_BARRED};
use crate::protocol::{ByeReason, ErrorCode, ProtocolError, RightsPatch, Role, ServerMessage};

fn revoke(field: fn(&mut RightsPatch) -> &mut Option<bool>) -> RightsPatch {
    let mut patch = RightsPatch::default();
    *field(&mut patch) = Some(false);
    patch
}

impl Class {
    pub(super) fn moderate(
        &mut self,
        teacher: Teacher,
        action: TeacherAction,
        _now: Instant,
        out: &mut Outcome,
    ) -> Result<(), ProtocolError> {
        let who = teacher.id();
        match action {
            TeacherAction::LowerHand(target) => {
                let target = parse_id(&target)?;
                self.member(target)?;
                if self.hands.lower(target) {
                    self.tell_hands(out);
                }
            }
            TeacherAction::LowerAllHands => {
                if self.hands.clear() {
                    self.tell_hands(out);
                }
            }
            TeacherAction::Mute(target) => {
                let target = self.target_pupil(&target, "muted")?;
                self.patch_rights(target, &revoke(|p| &mut p.mic), who, out);
            }
            TeacherAction::MuteAll => {
                let pupils: Vec<_> = self
                    .members
                    .iter()
                    .filter(|(_, m)| m.role == Role::Pupil)
                    .map(|(id, _)| *id)
                    .collect();
                for id in pupils {
                    if let Some(m) = self.members.get_mut(&id) {
                        m.own.mic = Some(false);
                    }
                }
                self.settle(out, Some(who));
            }
            TeacherAction::CameraOff(target) => {
                let target = self.target_pupil(&target, "moderated")?;
                self.patch_rights(target, &revoke(|p| &mut p.camera), who, out);
            }
            TeacherAction::StopScreen(target) => {
                let target = self.target_pupil(&target, "moderated")?;
                self.patch_rights(target, &revoke(|p| &mut p.screen), who, out);
            }
            TeacherAction::GiveFloor(target) => {
                let target = self.target_pupil(&target, "given the floor")?;
                let patch = RightsPatch {
                    mic: Some(true),
                    ..RightsPatch::default()
                };
                self.patch_rights(target, &patch, who, out);
                if self.hands.lower(target) {
                    self.tell_hands(out);
                }
            }
            TeacherAction::TakeFloor(target) => {
                let target = self.target_pupil(&target, "moderated")?;
                self.patch_rights(target, &revoke(|p| &mut p.mic), who, out);
            }
            TeacherAction::SetRights(target, patch) => {
                let target = self.target_pupil(&target, "moderated")?;
                self.patch_rights(target, &patch, who, out);
            }
            TeacherAction::Kick { participant, bar } => {
                let target = self.target(&participant, "removed")?;
                if let Some(member) = self.remove(target, out) {
                    out.messages.push((
                        target,
                        ServerMessage::Bye {
                            reason: ByeReason::Kicked,
                        },
                    ));
                    if bar {
                        // Best effort on shared links: the JWT subject when there is one, else
                        // the device id the browser keeps. The resume token died with `remove`.
                        if let Some(subject) = member.subject {
                            if self.barred_subjects.len() < MAX_BARRED {
                                self.barred_subjects.insert(subject);
                            }
                        }
                        if let Some(device) = member.device {
                            if self.barred_devices.len() < MAX_BARRED {
                                self.barred_devices.insert(device);
                            }
                        }
                    }
                }
            }
            TeacherAction::SetSettings(patch) => {
                let before = self.settings;
                let changed = rights::apply_settings(&mut self.settings, &patch);
                for m in self.members.values_mut() {
                    rights::reset_overrides(&mut m.own, &changed);
                }
                if self.settings != before {
                    self.tell_settings(out);
                }
                self.settle(out, Some(who));
                self.apply_guest_policy(out);
            }
            TeacherAction::Admit(target) => {
                let id = parse_id(&target)?;
                let role = self
                    .lobby
                    .role_of(id)
                    .ok_or_else(|| super::no_such(&target))?;
                if !self.seat_free(role) {
                    // Not `room_full`: that code closes the socket, and it is the teacher's.
                    return Err(ProtocolError::new(
                        ErrorCode::BadTarget,
                        "the class is full: nobody more can enter",
                    ));
                }
                let guest = self.lobby.take(id).ok_or_else(|| super::no_such(&target))?;
                let entered = self.enter(guest);
                out.messages.extend(entered.messages);
                out.media.extend(entered.media);
                self.tell_lobby(out);
            }
            TeacherAction::Deny(target) => {
                let id = parse_id(&target)?;
                self.lobby.take(id).ok_or_else(|| super::no_such(&target))?;
                out.messages.push((
                    id,
                    ServerMessage::Bye {
                        reason: ByeReason::Denied,
                    },
                ));
                self.tell_lobby(out);
            }
            TeacherAction::Promote(target) => {
                let id = parse_id(&target)?;
                let m = self.member(id)?;
                if m.role != Role::Pupil {
                    return Err(ProtocolError::new(
                        ErrorCode::BadTarget,
                        "only a pupil can be made co-teacher",
                    ));
                }
                if let Some(m) = self.members.get_mut(&id) {
                    m.role = Role::Teacher;
                }
                if self.hands.lower(id) {
                    self.tell_hands(out);
                }
                self.settle(out, Some(who));
                // A new teacher sees who waits at the door.
                out.messages.push((
                    id,
                    ServerMessage::Lobby {
                        waiting: self.lobby.wire(),
                    },
                ));
            }
            TeacherAction::Demote(target) => {
                let id = parse_id(&target)?;
                let m = self.member(id)?;
                if m.role != Role::Teacher {
                    return Err(ProtocolError::new(
                        ErrorCode::BadTarget,
                        "only a co-teacher can be demoted",
                    ));
                }
                if m.owner {
                    return Err(ProtocolError::new(
                        ErrorCode::Forbidden,
                        "the class's own teachers cannot be demoted",
                    ));
                }
                if let Some(m) = self.members.get_mut(&id) {
                    m.role = Role::Pupil;
                }
                self.settle(out, Some(who));
            }
            TeacherAction::EndClass => {
                self.end(ByeReason::ClassEnded, out);
            }
        }
        Ok(())
    }

    /// A member that moderation may act on: anyone but a teacher.
    fn target(&self, id: &str, what: &str) -> Result<ParticipantId, ProtocolError> {
        let pid = parse_id(id)?;
        let m = self.member(pid)?;
        if m.role == Role::Teacher {
            return Err(ProtocolError::new(
                ErrorCode::Forbidden,
                format!("a teacher cannot be {what}"),
            ));
        }
        Ok(pid)
    }

    /// A pupil (rights only make sense for someone who may publish at all).
    fn target_pupil(&self, id: &str, what: &str) -> Result<ParticipantId, ProtocolError> {
        let pid = self.target(id, what)?;
        if self.member(pid)?.role == Role::Observer {
            return Err(ProtocolError::new(
                ErrorCode::BadTarget,
                "an observer only receives: it has no mic, camera or chat to moderate",
            ));
        }
        Ok(pid)
    }

    fn patch_rights(
        &mut self,
        target: ParticipantId,
        patch: &RightsPatch,
        actor: ParticipantId,
        out: &mut Outcome,
    ) {
        if let Some(m) = self.members.get_mut(&target) {
            m.own.apply(patch);
        }
        self.settle(out, Some(actor));
    }

    /// After the guest policy or the lock changed: let in or turn away who waits accordingly.
    fn apply_guest_policy(&mut self, out: &mut Outcome) {
        use crate::protocol::GuestPolicy;
        if self.lobby.is_empty() || self.settings.locked {
            return;
        }
        match self.settings.guest_policy {
            GuestPolicy::AskTeacher => {}
            GuestPolicy::AlwaysDeny => {
                for guest in self.lobby.drain() {
                    out.messages.push((
                        guest.id,
                        ServerMessage::Bye {
                            reason: ByeReason::Denied,
                        },
                    ));
                }
                self.tell_lobby(out);
            }
            GuestPolicy::AlwaysAccept => {
                for guest in self.lobby.drain() {
                    if !self.seat_free(guest.grant.role) {
                        out.messages.push((
                            guest.id,
                            ServerMessage::Bye {
                                reason: ByeReason::Denied,
                            },
                        ));
                        continue;
                    }
                    let entered = self.enter(guest);
                    out.messages.extend(entered.messages);
                    out.media.extend(entered.media);
                }
                self.tell_lobby(out);
            }
        }
    }
}
