//! The class rules as a sans-IO state machine: who is in, with which role and rights, raised
//! hands, chat, the lobby, moderation and resumption.
//!
//! [`Class`] takes `(who, action, now)` and returns an [`Outcome`]: messages for participants and
//! commands for the media shard. It never touches a socket or the clock, so every rule is tested
//! here directly; `rooms.rs` only delivers what it returns. On error nothing changes for anyone.

mod action;
mod chat;
mod hands;
mod lobby;
mod moderation;
mod resume;
mod rights;
mod view;
mod viewing;

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use sfu::{Command, ParticipantId};

use crate::protocol::{
    ByeReason, ErrorCode, GuestPolicy, ParticipantInfo, ProtocolError, Rights, Role, ServerMessage,
    Settings,
};
use crate::tokens::random_token;
pub use action::{Action, MemberAction, Teacher, TeacherAction};
use chat::ChatLog;
pub use chat::MAX_CHAT_CHARS;
use hands::Hands;
use lobby::{Guest, Lobby, LobbyFull, LobbyLimits};
use rights::Overrides;

/// Most barred subjects or devices remembered per class (a bound, not a policy).
const MAX_BARRED: usize = 1000;

/// What admission has verified about who is joining: the role a capability link or a join token
/// gives, and the token's stable subject (what a kick with `bar` keeps out). The name arrives
/// already resolved (a token's name wins over the typed one: `auth::JoinGrant::display_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub subject: Option<String>,
}

/// Limits and timings of a class (from the server's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassConfig {
    pub max_participants: usize,
    pub chat_history: usize,
    pub max_lobby: usize,
    /// How long a participant whose socket dropped may come back with `resume`.
    pub grace: Duration,
    /// Seats only teachers may take: pupils and observers fill the others.
    pub teacher_seats: usize,
    /// Most lobby places one source network may hold.
    pub lobby_places_per_address: usize,
}

impl Default for ClassConfig {
    fn default() -> Self {
        ClassConfig {
            max_participants: 100,
            chat_history: 500,
            max_lobby: 50,
            grace: Duration::from_secs(30),
            teacher_seats: 2,
            lobby_places_per_address: 30,
        }
    }
}

/// What the class wants delivered after a step.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Messages, in order, each for one participant (or lobby guest).
    pub messages: Vec<(ParticipantId, ServerMessage)>,
    /// Commands for the shard holding the class's media.
    pub media: Vec<Command>,
    /// The class is over: forget it.
    pub ended: bool,
}

impl Outcome {
    /// The messages for `id`, in order (for tests and for delivery checks).
    pub fn to(&self, id: ParticipantId) -> Vec<&ServerMessage> {
        self.messages
            .iter()
            .filter(|(to, _)| *to == id)
            .map(|(_, m)| m)
            .collect()
    }
}

/// Where a `join` led.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// In the class: the welcome is in the outcome.
    Joined,
    /// In the lobby, waiting for a teacher.
    Waiting,
}

/// One participant in the class.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    role: Role,
    /// Entered with a teacher grant: a class's own teachers cannot be demoted.
    owner: bool,
    audio: bool,
    video: bool,
    screen: bool,
    own: Overrides,
    /// Rights last told to the participant and its shard.
    told_rights: Rights,
    /// What others were last told about it.
    told_info: Option<ParticipantInfo>,
    /// Set while its socket is down: it counts as gone at this instant.
    reconnecting_until: Option<Instant>,
    token: String,
    subject: Option<String>,
    device: Option<String>,
    /// The video quality it asked for of each other member, kept for its next media session.
    wanted_quality: BTreeMap<ParticipantId, sfu::Layer>,
}

/// One class's rules and state.
#[derive(Debug)]
pub struct Class {
    room: String,
    config: ClassConfig,
    settings: Settings,
    /// By id, which is join order.
    members: BTreeMap<ParticipantId, Member>,
    hands: Hands,
    chat: ChatLog,
    lobby: Lobby,
    barred_subjects: HashSet<String>,
    barred_devices: HashSet<String>,
    ended: bool,
    /// The pupil link's token, shown to teachers so they can invite pupils.
    invite: Option<String>,
}

fn no_such(id: &str) -> ProtocolError {
    ProtocolError::new(
        ErrorCode::NoSuchParticipant,
        format!("there is no participant {id:?} in this class"),
    )
}

/// Parses a participant id from the wire ("p12").
fn parse_id(id: &str) -> Result<ParticipantId, ProtocolError> {
    id.strip_prefix('p')
        .and_then(|n| n.parse().ok())
        .map(ParticipantId)
        .ok_or_else(|| no_such(id))
}

impl Class {
    /// A new class with default settings.
    pub fn new(room: String, config: ClassConfig) -> Self {
        Class {
            room,
            config,
            settings: Settings::default(),
            members: BTreeMap::new(),
            hands: Hands::default(),
            chat: ChatLog::new(config.chat_history),
            lobby: Lobby::default(),
            barred_subjects: HashSet::new(),
            barred_devices: HashSet::new(),
            ended: false,
            invite: None,
        }
    }

    /// Lets `id` in (or into the lobby) with what admission verified. Teachers always enter
    /// while a seat is free, and some seats are theirs alone (`teacher_seats`); others meet the
    /// bar, the size limit, the lock and the guest policy, in that order. `from` is the source
    /// network (`limits::per_address::network_of`), counted against the lobby's places per
    /// address; it is never shown to anyone.
    pub fn join(
        &mut self,
        id: ParticipantId,
        grant: Grant,
        name: String,
        device: Option<String>,
        from: Option<IpAddr>,
        _now: Instant,
    ) -> Result<(Entry, Outcome), ProtocolError> {
        if self.ended {
            return Err(ProtocolError::new(
                ErrorCode::NoSuchRoom,
                "this class has ended",
            ));
        }
        crate::names::check_role_words(&name, grant.role)
            .map_err(|why| ProtocolError::new(ErrorCode::BadName, why))?;
        let barred = grant
            .subject
            .as_ref()
            .is_some_and(|s| self.barred_subjects.contains(s))
            || device
                .as_ref()
                .is_some_and(|d| self.barred_devices.contains(d));
        if barred {
            return Err(ProtocolError::new(
                ErrorCode::Barred,
                "a teacher removed you from this class",
            ));
        }
        if !self.seat_free(grant.role) {
            return Err(ProtocolError::new(
                ErrorCode::RoomFull,
                format!(
                    "this class is full ({} participants)",
                    self.config.max_participants
                ),
            ));
        }
        let guest = Guest {
            id,
            grant,
            name,
            device,
            from,
        };
        if guest.grant.role == Role::Teacher {
            return Ok((Entry::Joined, self.enter(guest)));
        }
        if self.settings.locked {
            return Err(ProtocolError::new(
                ErrorCode::RoomLocked,
                "the teacher has locked this class",
            ));
        }
        match self.settings.guest_policy {
            GuestPolicy::AlwaysAccept => Ok((Entry::Joined, self.enter(guest))),
            GuestPolicy::AlwaysDeny => Err(ProtocolError::new(
                ErrorCode::Denied,
                "the teacher is not letting anyone in right now",
            )),
            GuestPolicy::AskTeacher => {
                let limits = LobbyLimits {
                    places: self.config.max_lobby,
                    per_address: self.config.lobby_places_per_address,
                };
                if let Err(full) = self.lobby.push(guest, limits) {
                    let why = match full {
                        LobbyFull::Everyone => {
                            "too many people are waiting to enter; try again in a moment"
                        }
                        LobbyFull::ThisAddress => {
                            "too many people from your network are already waiting to enter; \
                             try again in a moment"
                        }
                    };
                    return Err(ProtocolError::new(ErrorCode::LobbyFull, why));
                }
                let mut out = Outcome::default();
                out.messages.push((id, ServerMessage::LobbyWaiting));
                self.tell_lobby(&mut out);
                Ok((Entry::Waiting, out))
            }
        }
    }

    /// Whether someone entering with `role` has a seat: teachers any free one, pupils and
    /// observers all but the `teacher_seats` kept for teachers. A pupil link opened many times
    /// therefore cannot lock the class's teacher out.
    fn seat_free(&self, role: Role) -> bool {
        if self.members.len() >= self.config.max_participants {
            return false;
        }
        if role == Role::Teacher {
            return true;
        }
        let others = self
            .members
            .values()
            .filter(|m| m.role != Role::Teacher)
            .count();
        others
            < self
                .config
                .max_participants
                .saturating_sub(self.config.teacher_seats)
    }

    /// Makes a guest a member: its welcome, the others told.
    fn enter(&mut self, guest: Guest) -> Outcome {
        let mut out = Outcome::default();
        let owner = guest.grant.role == Role::Teacher;
        let own = Overrides::default();
        let rights = rights::effective(guest.grant.role, &self.settings, &own);
        let member = Member {
            name: guest.name,
            role: guest.grant.role,
            owner,
            audio: rights.mic,
            video: rights.camera,
            screen: false,
            own,
            told_rights: rights,
            told_info: None,
            reconnecting_until: None,
            token: random_token(),
            subject: guest.grant.subject,
            device: guest.device,
            wanted_quality: BTreeMap::new(),
        };
        let id = guest.id;
        self.members.insert(id, member);
        let snapshot = self.snapshot(id, self.chat.since(0));
        out.messages.push((id, ServerMessage::Welcome(snapshot)));
        if let Some(info) = self.info(id) {
            if let Some(m) = self.members.get_mut(&id) {
                m.told_info = Some(info.clone());
            }
            for other in self.members.keys().filter(|o| **o != id) {
                out.messages.push((
                    *other,
                    ServerMessage::ParticipantJoined {
                        participant: info.clone(),
                    },
                ));
            }
        }
        out.media.push(Command::SetRights {
            participant: id,
            rights: rights::publish_rights(rights),
        });
        out
    }

    /// Does what `who` asks, if the rules allow it. On error nothing changed.
    pub fn act(
        &mut self,
        who: ParticipantId,
        action: Action,
        now: Instant,
    ) -> Result<Outcome, ProtocolError> {
        let Some(member) = self.members.get(&who) else {
            let why = if self.lobby.contains(who) {
                "wait for a teacher to let you in"
            } else {
                "send \"join\" first"
            };
            return Err(ProtocolError::new(ErrorCode::NotJoined, why));
        };
        let role = member.role;
        let mut out = Outcome::default();
        match action {
            Action::Member(action) => self.member_act(who, role, action, &mut out)?,
            Action::Teacher(action) => {
                // The one check for every teacher action: `moderate` only takes the proof.
                let Some(teacher) = Teacher::check(who, role == Role::Teacher) else {
                    return Err(ProtocolError::new(
                        ErrorCode::Forbidden,
                        format!("only a teacher may {}", action.what()),
                    ));
                };
                self.moderate(teacher, action, now, &mut out)?;
            }
        }
        Ok(out)
    }

    fn member_act(
        &mut self,
        who: ParticipantId,
        role: Role,
        action: MemberAction,
        out: &mut Outcome,
    ) -> Result<(), ProtocolError> {
        match action {
            MemberAction::MediaState {
                audio,
                video,
                screen,
            } => {
                if let Some(m) = self.members.get_mut(&who) {
                    let rights = m.told_rights;
                    // A client cannot claim a device its rights do not allow: the others' view
                    // follows the server, as the media does.
                    m.audio = audio && rights.mic;
                    m.video = video && rights.camera;
                    m.screen = screen && rights.screen;
                }
                self.settle(out, Some(who));
            }
            MemberAction::RaiseHand => {
                if role != Role::Pupil {
                    return Err(ProtocolError::new(
                        ErrorCode::NotAllowed,
                        "only pupils raise their hand",
                    ));
                }
                if self.hands.raise(who) {
                    self.tell_hands(out);
                }
            }
            MemberAction::LowerOwnHand => {
                if self.hands.lower(who) {
                    self.tell_hands(out);
                }
            }
            MemberAction::Chat(text) => self.chat(who, &text, out)?,
            MemberAction::VideoQuality(target, quality) => {
                self.prefer_quality(who, &target, quality, out)?;
            }
        }
        Ok(())
    }

    /// The participant left for good (`leave`, a server-side close, or a lobby guest gone).
    pub fn leave(&mut self, who: ParticipantId) -> Outcome {
        let mut out = Outcome::default();
        if self.lobby.take(who).is_some() {
            self.tell_lobby(&mut out);
            return out;
        }
        self.remove(who, &mut out);
        out
    }

    /// Takes a member out: the others told, its hand lowered, its token dead, its media freed.
    fn remove(&mut self, who: ParticipantId, out: &mut Outcome) -> Option<Member> {
        let member = self.members.remove(&who)?;
        for other in self.members.keys() {
            out.messages.push((
                *other,
                ServerMessage::ParticipantLeft {
                    id: who.to_string(),
                },
            ));
        }
        if self.hands.lower(who) {
            self.tell_hands(out);
        }
        for other in self.members.values_mut() {
            other.wanted_quality.remove(&who);
        }
        out.media.push(Command::Leave { participant: who });
        Some(member)
    }

    fn chat(
        &mut self,
        who: ParticipantId,
        text: &str,
        out: &mut Outcome,
    ) -> Result<(), ProtocolError> {
        let member = self.member(who)?;
        let name = member.name.clone();
        if !member.told_rights.chat {
            if member.role == Role::Pupil && !self.settings.chat {
                return Err(ProtocolError::new(
                    ErrorCode::ChatDisabled,
                    "the teacher has turned the chat off",
                ));
            }
            return Err(ProtocolError::new(
                ErrorCode::NotAllowed,
                "you may not write in the chat",
            ));
        }
        let text =
            chat::validate_text(text).map_err(|why| ProtocolError::new(ErrorCode::BadChat, why))?;
        let entry = self.chat.push(who.to_string(), name, text);
        for id in self.members.keys() {
            out.messages.push((*id, ServerMessage::Chat(entry.clone())));
        }
        Ok(())
    }

    fn member(&self, id: ParticipantId) -> Result<&Member, ProtocolError> {
        self.members
            .get(&id)
            .ok_or_else(|| no_such(&id.to_string()))
    }

    /// Whether `id` is in the class (not merely waiting in the lobby).
    pub fn is_member(&self, id: ParticipantId) -> bool {
        self.members.contains_key(&id)
    }

    /// Lets teachers see `token`, the pupil link's, to invite pupils with.
    pub fn with_invite(mut self, token: String) -> Self {
        self.invite = Some(token);
        self
    }

    /// The role of member `id`.
    pub fn role(&self, id: ParticipantId) -> Option<Role> {
        self.members.get(&id).map(|m| m.role)
    }

    /// Whether `id` is in the class or its lobby.
    pub fn knows(&self, id: ParticipantId) -> bool {
        self.members.contains_key(&id) || self.lobby.contains(id)
    }

    /// What a new media session of `id` must be told at once, after its first offer: its
    /// publishing rights, then the video quality it asked for of each other member.
    pub fn media_settings(&self, id: ParticipantId) -> Option<Vec<Command>> {
        let member = self.members.get(&id)?;
        let rights = Command::SetRights {
            participant: id,
            rights: rights::publish_rights(member.told_rights),
        };
        let qualities =
            member
                .wanted_quality
                .iter()
                .map(|(publisher, layer)| Command::SetPreferredLayer {
                    subscriber: id,
                    publisher: *publisher,
                    layer: *layer,
                });
        Some(std::iter::once(rights).chain(qualities).collect())
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when nobody is in.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.lobby.is_empty()
    }

    /// The class's settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// True once a teacher ended it.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// Says `reason` to everyone (members and lobby) and frees every media session: the class is
    /// over.
    fn end(&mut self, reason: ByeReason, out: &mut Outcome) {
        for guest in self.lobby.drain() {
            out.messages.push((guest.id, ServerMessage::Bye { reason }));
        }
        for id in std::mem::take(&mut self.members).into_keys() {
            out.messages.push((id, ServerMessage::Bye { reason }));
            out.media.push(Command::Leave { participant: id });
        }
        self.hands.clear();
        self.ended = true;
        out.ended = true;
    }
}

#[cfg(test)]
mod door_tests;
#[cfg(test)]
mod tests;
