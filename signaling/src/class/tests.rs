//! The class rules, driven directly (no sockets, time passed in).

use std::time::{Duration, Instant};

use sfu::{Command, ParticipantId};

use super::*;
use super::{MemberAction as M, TeacherAction as T};
use crate::protocol::{
    ByeReason, ErrorCode, GuestPolicy, RightsPatch, Role, ServerMessage, SettingsPatch,
    VideoQuality,
};

struct Fixture {
    class: Class,
    now: Instant,
    next: u64,
}

fn grant(role: Role) -> Grant {
    Grant {
        role,
        subject: None,
    }
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            class: Class::new(
                "room".into(),
                ClassConfig {
                    chat_history: 3,
                    max_lobby: 2,
                    ..ClassConfig::default()
                },
            ),
            now: Instant::now(),
            next: 1,
        }
    }

    fn join_with(
        &mut self,
        role: Role,
        device: Option<&str>,
    ) -> Result<(ParticipantId, Entry, Outcome), ErrorCode> {
        let id = ParticipantId(self.next);
        self.next += 1;
        self.class
            .join(
                id,
                grant(role),
                format!("n{}", id.0),
                device.map(Into::into),
                None,
                self.now,
            )
            .map(|(entry, out)| (id, entry, out))
            .map_err(|e| e.code)
    }

    fn join(&mut self, role: Role) -> ParticipantId {
        let (id, entry, _) = self.join_with(role, None).expect("joined");
        assert_eq!(entry, Entry::Joined);
        id
    }

    fn act(&mut self, who: ParticipantId, action: impl Into<Action>) -> Result<Outcome, ErrorCode> {
        self.class
            .act(who, action.into(), self.now)
            .map_err(|e| e.code)
    }
}

fn p(id: ParticipantId) -> String {
    id.to_string()
}

fn rights_told(out: &Outcome, id: ParticipantId) -> Option<Rights> {
    out.to(id).into_iter().find_map(|m| match m {
        ServerMessage::Rights { rights } => Some(*rights),
        _ => None,
    })
}

fn media_rights(out: &Outcome, id: ParticipantId) -> Option<sfu::PublishRights> {
    rights_in(&out.media, id)
}

fn rights_in(commands: &[Command], id: ParticipantId) -> Option<sfu::PublishRights> {
    commands.iter().find_map(|c| match c {
        Command::SetRights {
            participant,
            rights,
        } if *participant == id => Some(*rights),
        _ => None,
    })
}

/// One of each teacher action. The `match` has no wildcard: a new teacher action does not compile
/// until it is listed here, so the refusal test below covers it.
fn every_teacher_action(
    teacher: ParticipantId,
    pupil: ParticipantId,
    other: ParticipantId,
) -> Vec<T> {
    let actions = vec![
        T::Mute(p(other)),
        T::Mute(p(teacher)),
        T::MuteAll,
        T::CameraOff(p(teacher)),
        T::StopScreen(p(other)),
        T::Kick {
            participant: p(teacher),
            bar: true,
        },
        T::SetSettings(SettingsPatch {
            locked: Some(true),
            ..SettingsPatch::default()
        }),
        T::Admit("p99".into()),
        T::Deny("p99".into()),
        T::Promote(p(pupil)),
        T::Demote(p(teacher)),
        T::GiveFloor(p(pupil)),
        T::TakeFloor(p(other)),
        T::SetRights(
            p(pupil),
            RightsPatch {
                screen: Some(true),
                ..RightsPatch::default()
            },
        ),
        T::LowerHand(p(other)),
        T::LowerAllHands,
        T::EndClass,
    ];
    let mut seen = std::collections::BTreeSet::new();
    for action in &actions {
        let kind = match action {
            T::LowerHand(_) => 0,
            T::LowerAllHands => 1,
            T::Mute(_) => 2,
            T::MuteAll => 3,
            T::CameraOff(_) => 4,
            T::StopScreen(_) => 5,
            T::Kick { .. } => 6,
            T::SetSettings(_) => 7,
            T::Admit(_) => 8,
            T::Deny(_) => 9,
            T::Promote(_) => 10,
            T::Demote(_) => 11,
            T::GiveFloor(_) => 12,
            T::TakeFloor(_) => 13,
            T::SetRights(..) => 14,
            T::EndClass => 15,
        };
        seen.insert(kind);
    }
    assert_eq!(seen.len(), 16, "every teacher action is listed");
    actions
}

#[test]
fn pupils_and_observers_can_call_no_teacher_action_and_nothing_changes() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let other = f.join(Role::Pupil);
    let observer = f.join(Role::Observer);
    f.act(other, M::RaiseHand).expect("raised");
    for who in [pupil, observer] {
        for action in every_teacher_action(teacher, pupil, other) {
            let before = format!("{:?}", f.class);
            let refused = f.class.act(who, action.clone().into(), f.now);
            let error = refused.expect_err("refused");
            assert_eq!(error.code, ErrorCode::Forbidden, "{action:?}");
            assert_eq!(
                error.message,
                format!("only a teacher may {}", action.what())
            );
            assert_eq!(
                before,
                format!("{:?}", f.class),
                "{action:?} changed the class"
            );
        }
    }
}

#[test]
fn a_demoted_co_teacher_loses_every_teacher_action_at_once() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let other = f.join(Role::Pupil);
    f.act(teacher, T::Promote(p(pupil))).expect("promoted");
    f.act(pupil, T::Mute(p(other)))
        .expect("a co-teacher moderates");
    f.act(teacher, T::Demote(p(pupil))).expect("demoted");
    for action in every_teacher_action(teacher, pupil, other) {
        assert_eq!(f.act(pupil, action).err(), Some(ErrorCode::Forbidden));
    }
}

#[test]
fn nobody_mutes_kicks_or_demotes_a_teacher() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let other_teacher = f.join(Role::Teacher);
    for action in [
        T::Mute(p(other_teacher)),
        T::CameraOff(p(other_teacher)),
        T::Kick {
            participant: p(other_teacher),
            bar: false,
        },
        T::Demote(p(other_teacher)),
    ] {
        assert_eq!(f.act(teacher, action).err(), Some(ErrorCode::Forbidden));
    }
}

#[test]
fn muting_revokes_the_mic_at_once_and_tells_everyone() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let out = f.act(teacher, T::Mute(p(pupil))).expect("muted");
    let told = rights_told(&out, pupil).expect("the pupil is told");
    assert!(!told.mic && told.camera);
    assert_eq!(media_rights(&out, pupil).map(|r| r.mic), Some(false));
    assert!(out.to(teacher).iter().any(|m| matches!(m,
        ServerMessage::ParticipantUpdated { participant } if !participant.audio && !participant.rights.mic)));
    // The pupil cannot claim its mic back.
    let out = f
        .act(
            pupil,
            M::MediaState {
                audio: true,
                video: true,
                screen: false,
            },
        )
        .expect("media state");
    assert!(out.media.is_empty());
    let info = f.class.info(pupil).expect("member");
    assert!(!info.audio);
}

#[test]
fn mute_all_spares_teachers() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let a = f.join(Role::Pupil);
    let b = f.join(Role::Pupil);
    let out = f.act(teacher, T::MuteAll).expect("muted");
    assert_eq!(media_rights(&out, a).map(|r| r.mic), Some(false));
    assert_eq!(media_rights(&out, b).map(|r| r.mic), Some(false));
    assert_eq!(media_rights(&out, teacher), None);
}

#[test]
fn hands_queue_in_order_and_the_floor_is_given_and_taken() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    f.class
        .act(
            teacher,
            T::SetSettings(SettingsPatch {
                pupil_mic: Some(false),
                ..SettingsPatch::default()
            })
            .into(),
            f.now,
        )
        .expect("settings");
    let a = f.join(Role::Pupil);
    let b = f.join(Role::Pupil);
    let settings = f.class.media_settings(a).expect("a member");
    assert!(!rights_in(&settings, a).expect("rights").mic);
    f.act(b, M::RaiseHand).expect("raised");
    let out = f.act(a, M::RaiseHand).expect("raised");
    assert!(out.to(teacher).contains(&&ServerMessage::Hands {
        queue: vec![p(b), p(a)]
    }));
    assert_eq!(f.class.hands.position(a), Some(2));
    assert!(f.act(a, M::RaiseHand).expect("again").messages.is_empty());
    assert_eq!(
        f.act(teacher, M::RaiseHand).err(),
        Some(ErrorCode::NotAllowed)
    );

    let out = f.act(teacher, T::GiveFloor(p(b))).expect("floor");
    assert_eq!(media_rights(&out, b).map(|r| r.mic), Some(true));
    assert!(out
        .to(a)
        .contains(&&ServerMessage::Hands { queue: vec![p(a)] }));
    let out = f.act(teacher, T::TakeFloor(p(b))).expect("taken");
    assert_eq!(media_rights(&out, b).map(|r| r.mic), Some(false));

    f.act(a, M::LowerOwnHand).expect("lowered");
    assert_eq!(f.class.hands.position(a), None);
    f.act(a, M::RaiseHand).expect("raised");
    f.act(b, M::RaiseHand).expect("raised");
    f.act(teacher, T::LowerHand(p(a))).expect("lowered");
    assert_eq!(f.class.hands.wire(), vec![p(b)]);
    f.act(teacher, T::LowerAllHands).expect("all lowered");
    assert!(f.class.hands.wire().is_empty());
}

#[test]
fn chat_is_numbered_bounded_and_can_be_turned_off() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let observer = f.join(Role::Observer);
    for i in 0..4 {
        let out = f.act(pupil, M::Chat(format!("hello {i}"))).expect("sent");
        assert!(out
            .to(teacher)
            .iter()
            .any(|m| matches!(m, ServerMessage::Chat(e) if e.seq == i + 1)));
        assert_eq!(out.to(observer).len(), 1, "observers read the chat");
    }
    assert_eq!(f.class.chat.since(0).len(), 3, "history is bounded");
    assert_eq!(
        f.act(observer, M::Chat("x".into())).err(),
        Some(ErrorCode::NotAllowed)
    );
    assert_eq!(
        f.act(pupil, M::Chat(" ".into())).err(),
        Some(ErrorCode::BadChat)
    );
    assert_eq!(
        f.act(pupil, M::Chat("a".repeat(MAX_CHAT_CHARS + 1))).err(),
        Some(ErrorCode::BadChat)
    );
    f.act(
        teacher,
        T::SetSettings(SettingsPatch {
            chat: Some(false),
            ..SettingsPatch::default()
        }),
    )
    .expect("chat off");
    assert_eq!(
        f.act(pupil, M::Chat("hi".into())).err(),
        Some(ErrorCode::ChatDisabled)
    );
    f.act(teacher, M::Chat("teachers still may".into()))
        .expect("teacher chats");
}

#[test]
fn the_lobby_holds_guests_until_a_teacher_decides() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    f.act(
        teacher,
        T::SetSettings(SettingsPatch {
            guest_policy: Some(GuestPolicy::AskTeacher),
            ..SettingsPatch::default()
        }),
    )
    .expect("policy");
    let (a, entry, out) = f.join_with(Role::Pupil, None).expect("waits");
    assert_eq!(entry, Entry::Waiting);
    assert_eq!(out.to(a), vec![&ServerMessage::LobbyWaiting]);
    assert!(matches!(out.to(teacher)[0], ServerMessage::Lobby { waiting } if waiting.len() == 1));
    let (b, _, _) = f.join_with(Role::Pupil, None).expect("waits");
    assert_eq!(
        f.join_with(Role::Pupil, None).err(),
        Some(ErrorCode::LobbyFull)
    );
    assert_eq!(f.act(a, M::RaiseHand).err(), Some(ErrorCode::NotJoined));

    let out = f.act(teacher, T::Admit(p(a))).expect("admitted");
    assert!(matches!(out.to(a)[0], ServerMessage::Welcome(_)));
    assert!(f.class.is_member(a));
    let out = f.act(teacher, T::Deny(p(b))).expect("denied");
    assert_eq!(
        out.to(b),
        vec![&ServerMessage::Bye {
            reason: ByeReason::Denied
        }]
    );
    assert!(!f.class.knows(b));
    assert_eq!(
        f.act(teacher, T::Admit(p(b))).err(),
        Some(ErrorCode::NoSuchParticipant)
    );

    // Teachers never wait; "always deny" turns pupils away at the door.
    f.join(Role::Teacher);
    f.act(
        teacher,
        T::SetSettings(SettingsPatch {
            guest_policy: Some(GuestPolicy::AlwaysDeny),
            ..SettingsPatch::default()
        }),
    )
    .expect("policy");
    assert_eq!(
        f.join_with(Role::Pupil, None).err(),
        Some(ErrorCode::Denied)
    );
}

#[test]
fn a_locked_class_lets_only_teachers_in() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    f.act(
        teacher,
        T::SetSettings(SettingsPatch {
            locked: Some(true),
            ..SettingsPatch::default()
        }),
    )
    .expect("locked");
    assert_eq!(
        f.join_with(Role::Pupil, None).err(),
        Some(ErrorCode::RoomLocked)
    );
    f.join(Role::Teacher);
}

#[test]
fn a_kick_with_bar_keeps_the_device_out_and_kills_the_token() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let (pupil, _, out) = f.join_with(Role::Pupil, Some("dev-1")).expect("joined");
    let token = match out.to(pupil)[0] {
        ServerMessage::Welcome(w) => w.resume_token.clone(),
        other => panic!("{other:?}"),
    };
    let out = f
        .act(
            teacher,
            T::Kick {
                participant: p(pupil),
                bar: true,
            },
        )
        .expect("kicked");
    assert!(out.to(pupil).contains(&&ServerMessage::Bye {
        reason: ByeReason::Kicked
    }));
    assert!(out.media.contains(&Command::Leave { participant: pupil }));
    assert_eq!(
        f.join_with(Role::Pupil, Some("dev-1")).err(),
        Some(ErrorCode::Barred)
    );
    assert!(f.join_with(Role::Pupil, Some("dev-2")).is_ok());
    assert_eq!(
        f.class
            .resume(&token, 0, f.now)
            .map(|_| ())
            .map_err(|e| e.code),
        Err(ErrorCode::BadResumeToken)
    );
}

#[test]
fn promotion_makes_a_co_teacher_who_can_be_demoted() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let observer = f.join(Role::Observer);
    f.act(teacher, T::Promote(p(pupil))).expect("promoted");
    f.act(pupil, T::Mute(p(observer))).err();
    assert_eq!(
        f.act(pupil, T::Demote(p(teacher))).err(),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        f.act(teacher, T::Promote(p(observer))).err(),
        Some(ErrorCode::BadTarget)
    );
    f.act(teacher, T::Demote(p(pupil))).expect("demoted");
    assert_eq!(f.act(pupil, T::MuteAll).err(), Some(ErrorCode::Forbidden));
}

#[test]
fn a_dropped_member_is_kept_for_the_grace_period_and_replayed_the_chat() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let (pupil, _, out) = f.join_with(Role::Pupil, None).expect("joined");
    let token = match out.to(pupil)[0] {
        ServerMessage::Welcome(w) => w.resume_token.clone(),
        other => panic!("{other:?}"),
    };
    f.act(pupil, M::RaiseHand).expect("raised");
    f.act(teacher, T::Mute(p(pupil))).expect("muted");
    f.act(teacher, M::Chat("one".into())).expect("chat");
    let out = f.class.disconnect(pupil, f.now);
    assert_eq!(
        out.to(teacher),
        vec![&ServerMessage::Reconnecting { id: p(pupil) }]
    );
    f.act(teacher, M::Chat("two".into())).expect("chat");
    f.now += Duration::from_secs(10);
    assert!(f.class.expire(f.now).messages.is_empty());
    let (who, snapshot, out) = f.class.resume(&token, 1, f.now).expect("resumed");
    assert_eq!(who, pupil);
    assert_eq!(
        out.to(teacher),
        vec![&ServerMessage::Reconnected { id: p(pupil) }]
    );
    assert_eq!(snapshot.chat.len(), 1);
    assert_eq!(snapshot.chat[0].text, "two");
    assert_eq!(snapshot.hands, vec![p(pupil)]);
    assert!(!snapshot.you.rights.mic, "still muted");

    f.class.disconnect(pupil, f.now);
    f.now += Duration::from_secs(31);
    let out = f.class.expire(f.now);
    assert!(out
        .to(teacher)
        .contains(&&ServerMessage::ParticipantLeft { id: p(pupil) }));
    assert!(f.class.resume(&token, 0, f.now).is_err());
    assert!(f.class.hands.wire().is_empty());
}

#[test]
fn each_dropped_member_leaves_at_its_own_deadline() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupils: Vec<ParticipantId> = (0..9).map(|_| f.join(Role::Pupil)).collect();
    let start = f.now;
    let grace = ClassConfig::default().grace;
    let step = Duration::from_millis(100);
    for (i, pupil) in pupils.iter().enumerate() {
        f.class.disconnect(*pupil, start + step * i as u32);
        assert_eq!(
            f.class.grace_ends(*pupil),
            Some(start + step * i as u32 + grace),
            "its own deadline, not the earliest of the class"
        );
    }
    assert_eq!(f.class.next_deadline(), Some(start + grace));
    // Walk the deadlines one by one, as the sweeper does: each call frees exactly the one whose
    // time came, and says when the next one is due.
    for (i, pupil) in pupils.iter().enumerate() {
        let due = f
            .class
            .next_deadline()
            .expect("someone is still reconnecting");
        assert_eq!(due, start + step * i as u32 + grace);
        let just_before = f.class.expire(due - Duration::from_millis(1));
        assert!(just_before.messages.is_empty(), "nobody leaves early");
        let out = f.class.expire(due);
        assert_eq!(
            out.to(teacher),
            vec![&ServerMessage::ParticipantLeft { id: p(*pupil) }]
        );
        assert_eq!(
            out.media,
            vec![Command::Leave {
                participant: *pupil
            }]
        );
    }
    assert_eq!(f.class.next_deadline(), None);
    assert_eq!(f.class.len(), 1, "only the teacher is left");
}

#[test]
fn a_member_who_resumed_and_dropped_again_gets_a_new_deadline() {
    let mut f = Fixture::new();
    f.join(Role::Teacher);
    let (pupil, _, out) = f.join_with(Role::Pupil, None).expect("joined");
    let token = match out.to(pupil)[0] {
        ServerMessage::Welcome(w) => w.resume_token.clone(),
        other => panic!("{other:?}"),
    };
    let grace = ClassConfig::default().grace;
    f.class.disconnect(pupil, f.now);
    let later = f.now + grace / 2;
    f.class.resume(&token, 0, later).expect("resumed");
    assert_eq!(f.class.next_deadline(), None);
    f.class.disconnect(pupil, later);
    assert!(f.class.expire(f.now + grace).messages.is_empty());
    assert!(f.class.is_member(pupil));
    f.class.expire(later + grace);
    assert!(!f.class.is_member(pupil));
}

#[test]
fn ending_the_class_says_bye_to_everyone_and_frees_the_media() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let out = f.act(teacher, T::EndClass).expect("ended");
    assert!(out.ended);
    for id in [teacher, pupil] {
        assert!(out.to(id).contains(&&ServerMessage::Bye {
            reason: ByeReason::ClassEnded
        }));
        assert!(out.media.contains(&Command::Leave { participant: id }));
    }
    assert_eq!(
        f.join_with(Role::Teacher, None).err(),
        Some(ErrorCode::NoSuchRoom)
    );
}

#[test]
fn unknown_targets_are_named() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    for target in ["p999", "x", "", "p-1"] {
        assert_eq!(
            f.act(teacher, T::Mute(target.into())).err(),
            Some(ErrorCode::NoSuchParticipant)
        );
    }
}

fn quality_wishes(commands: &[Command]) -> Vec<(ParticipantId, ParticipantId, sfu::Layer)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SetPreferredLayer {
                subscriber,
                publisher,
                layer,
            } => Some((*subscriber, *publisher, *layer)),
            _ => None,
        })
        .collect()
}

#[test]
fn each_member_chooses_the_quality_it_receives_and_keeps_it_for_its_next_media_session() {
    let mut f = Fixture::new();
    let teacher = f.join(Role::Teacher);
    let pupil = f.join(Role::Pupil);
    let observer = f.join(Role::Observer);
    let low = |id| M::VideoQuality(p(id), VideoQuality::Low);

    let out = f.act(pupil, low(teacher)).expect("any member may choose");
    assert_eq!(
        quality_wishes(&out.media),
        [(pupil, teacher, sfu::Layer::Low)]
    );
    assert!(out.messages.is_empty(), "nobody else hears of it");
    let again = f.act(pupil, low(teacher)).expect("the same wish");
    assert!(
        again.media.is_empty(),
        "an unchanged wish is not sent again"
    );
    let out = f
        .act(observer, M::VideoQuality(p(pupil), VideoQuality::High))
        .expect("observers too");
    assert_eq!(
        quality_wishes(&out.media),
        [(observer, pupil, sfu::Layer::High)]
    );

    // A new media session (after a reload) gets its rights first, then the wishes.
    let settings = f.class.media_settings(pupil).expect("a member");
    assert!(matches!(settings[0], Command::SetRights { .. }));
    assert_eq!(
        quality_wishes(&settings),
        [(pupil, teacher, sfu::Layer::Low)]
    );

    assert_eq!(
        f.act(pupil, low(pupil)).err(),
        Some(ErrorCode::BadTarget),
        "one's own video"
    );
    assert_eq!(
        f.act(pupil, M::VideoQuality("p99".into(), VideoQuality::Low))
            .err(),
        Some(ErrorCode::NoSuchParticipant)
    );
    assert_eq!(
        f.act(pupil, M::VideoQuality("teacher".into(), VideoQuality::Low))
            .err(),
        Some(ErrorCode::NoSuchParticipant),
        "not an id"
    );

    // A wish about someone who left is forgotten with them.
    f.class.leave(teacher);
    let settings = f.class.media_settings(pupil).expect("a member");
    assert!(quality_wishes(&settings).is_empty(), "{settings:?}");
}
