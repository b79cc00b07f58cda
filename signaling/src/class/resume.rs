//! Coming back after a dropped connection: a member whose socket drops is kept for a grace
//! period ("reconnecting" to the others) with its role, rights, hand and mute state, and may
//! resume with the token its welcome carried; chat it missed is replayed by sequence number.
//! After the grace period it counts as gone. A removed member's token dies with it.

use std::time::Instant;

use sfu::ParticipantId;

use super::{Class, Outcome};
use crate::protocol::{ClassSnapshot, ErrorCode, ProtocolError, ServerMessage};

impl Class {
    /// `who`'s socket dropped: keep it for the grace period. A lobby guest simply goes.
    pub fn disconnect(&mut self, who: ParticipantId, now: Instant) -> Outcome {
        let mut out = Outcome::default();
        if self.lobby.take(who).is_some() {
            self.tell_lobby(&mut out);
            return out;
        }
        let until = now + self.config.grace;
        let Some(member) = self.members.get_mut(&who) else {
            return out;
        };
        if member.reconnecting_until.is_some() {
            return out;
        }
        member.reconnecting_until = Some(until);
        if let Some(info) = self.info(who) {
            if let Some(m) = self.members.get_mut(&who) {
                m.told_info = Some(info);
            }
        }
        for other in self.members.keys().filter(|o| **o != who) {
            out.messages.push((
                *other,
                ServerMessage::Reconnecting {
                    id: who.to_string(),
                },
            ));
        }
        out
    }

    /// The member a resume token belongs to, if it is still valid.
    pub fn resume_target(&self, token: &str, now: Instant) -> Option<ParticipantId> {
        self.members
            .iter()
            .find(|(_, m)| crate::tokens::secret_eq(&m.token, token))
            .filter(|(_, m)| m.reconnecting_until.is_none_or(|until| now < until))
            .map(|(id, _)| *id)
    }

    /// `token`'s member comes back: the class as it is now and the chat after `last_chat_seq`
    /// for it, `reconnected` for the others. Also valid while the old socket still looks alive
    /// (a reload that overtook the drop): the caller then retires the old connection.
    pub fn resume(
        &mut self,
        token: &str,
        last_chat_seq: u64,
        now: Instant,
    ) -> Result<(ParticipantId, ClassSnapshot, Outcome), ProtocolError> {
        let who = self.resume_target(token, now).ok_or_else(|| {
            ProtocolError::new(
                ErrorCode::BadResumeToken,
                "this session cannot be resumed (it ended, or too much time passed); join again",
            )
        })?;
        let mut out = Outcome::default();
        let was_away = self
            .members
            .get_mut(&who)
            .and_then(|m| m.reconnecting_until.take())
            .is_some();
        if was_away {
            if let Some(info) = self.info(who) {
                if let Some(m) = self.members.get_mut(&who) {
                    m.told_info = Some(info);
                }
            }
            for other in self.members.keys().filter(|o| **o != who) {
                out.messages.push((
                    *other,
                    ServerMessage::Reconnected {
                        id: who.to_string(),
                    },
                ));
            }
        }
        let snapshot = self.snapshot(who, self.chat.since(last_chat_seq));
        Ok((who, snapshot, out))
    }

    /// Members whose own grace period is over now count as gone. Each member keeps its own
    /// deadline: whoever dropped later is still waiting, and [`Class::next_deadline`] says when
    /// to call this again.
    pub fn expire(&mut self, now: Instant) -> Outcome {
        let mut out = Outcome::default();
        let overdue: Vec<ParticipantId> = self
            .members
            .iter()
            .filter(|(_, m)| m.reconnecting_until.is_some_and(|until| until <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            self.remove(id, &mut out);
        }
        out
    }

    /// When `who`'s grace period ends, if it is reconnecting.
    pub fn grace_ends(&self, who: ParticipantId) -> Option<Instant> {
        self.members.get(&who).and_then(|m| m.reconnecting_until)
    }

    /// When the next grace period ends (the earliest of everyone's).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.members
            .values()
            .filter_map(|m| m.reconnecting_until)
            .min()
    }
}
