//! What participants are told: each member's view as others see it, the class snapshot for a
//! welcome or a resume, and the broadcasts that follow a change.

use sfu::{Command, ParticipantId};

use super::{rights, Class, Outcome};
use crate::protocol::{
    ChatEntry, ClassSnapshot, IceServers, ParticipantInfo, Rights, Role, ServerMessage,
    PROTOCOL_VERSION,
};

impl Class {
    /// Recomputes every member's rights and view after a change, and tells what changed: its
    /// rights to the member itself and to the shard, its new view to the others (and to itself
    /// when someone else changed it).
    pub(super) fn settle(&mut self, out: &mut Outcome, actor: Option<ParticipantId>) {
        let ids: Vec<ParticipantId> = self.members.keys().copied().collect();
        for id in ids {
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            let rights = rights::effective(m.role, &self.settings, &m.own);
            if rights != m.told_rights {
                m.told_rights = rights;
                // Losing a right turns the device off in everyone's view at once.
                m.audio &= rights.mic;
                m.video &= rights.camera;
                m.screen &= rights.screen;
                out.messages.push((id, ServerMessage::Rights { rights }));
                out.media.push(Command::SetRights {
                    participant: id,
                    rights: rights::publish_rights(rights),
                });
            }
            let Some(info) = self.info(id) else {
                continue;
            };
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if m.told_info.as_ref() == Some(&info) {
                continue;
            }
            m.told_info = Some(info.clone());
            for other in self.members.keys() {
                if *other == id && actor == Some(id) {
                    continue;
                }
                out.messages.push((
                    *other,
                    ServerMessage::ParticipantUpdated {
                        participant: info.clone(),
                    },
                ));
            }
        }
    }

    pub(super) fn tell_hands(&self, out: &mut Outcome) {
        let queue = self.hands.wire();
        for id in self.members.keys() {
            out.messages.push((
                *id,
                ServerMessage::Hands {
                    queue: queue.clone(),
                },
            ));
        }
    }

    pub(super) fn tell_lobby(&self, out: &mut Outcome) {
        let waiting = self.lobby.wire();
        for id in self.teachers() {
            out.messages.push((
                id,
                ServerMessage::Lobby {
                    waiting: waiting.clone(),
                },
            ));
        }
    }

    pub(super) fn tell_settings(&self, out: &mut Outcome) {
        for id in self.members.keys() {
            out.messages.push((
                *id,
                ServerMessage::Settings {
                    settings: self.settings,
                },
            ));
        }
    }

    pub(super) fn teachers(&self) -> Vec<ParticipantId> {
        self.members
            .iter()
            .filter(|(_, m)| m.role == Role::Teacher)
            .map(|(id, _)| *id)
            .collect()
    }

    /// A member as others see it.
    pub(super) fn info(&self, id: ParticipantId) -> Option<ParticipantInfo> {
        let m = self.members.get(&id)?;
        Some(ParticipantInfo {
            id: id.to_string(),
            name: m.name.clone(),
            role: m.role,
            audio: m.audio,
            video: m.video,
            screen: m.screen,
            rights: m.told_rights,
            reconnecting: m.reconnecting_until.is_some(),
        })
    }

    /// The class as `id` should see it on entering or coming back, with `chat` as given.
    pub(super) fn snapshot(&self, id: ParticipantId, chat: Vec<ChatEntry>) -> ClassSnapshot {
        let you = self.info(id);
        let teacher = self
            .members
            .get(&id)
            .is_some_and(|m| m.role == Role::Teacher);
        ClassSnapshot {
            version: PROTOCOL_VERSION,
            room: self.room.clone(),
            participants: self
                .members
                .keys()
                .filter(|o| **o != id)
                .filter_map(|o| self.info(*o))
                .collect(),
            you: you.unwrap_or_else(|| ParticipantInfo {
                id: id.to_string(),
                name: String::new(),
                role: Role::Observer,
                audio: false,
                video: false,
                screen: false,
                rights: Rights::default(),
                reconnecting: false,
            }),
            settings: self.settings,
            hands: self.hands.wire(),
            chat,
            resume_token: self
                .members
                .get(&id)
                .map(|m| m.token.clone())
                .unwrap_or_default(),
            lobby: teacher.then(|| self.lobby.wire()),
            invite: if teacher { self.invite.clone() } else { None },
            // Signed with the wall clock and the relay's secret, which the rules never see.
            ice: IceServers::default(),
        }
    }
}
