//! Who finds a place: the seats kept for teachers, and the lobby's places per source network.

use std::net::IpAddr;
use std::time::Instant;

use sfu::ParticipantId;

use super::{Action, Class, ClassConfig, Entry, Grant, TeacherAction as T};
use crate::protocol::{ErrorCode, GuestPolicy, Role, ServerMessage, SettingsPatch};

struct Door {
    class: Class,
    next: u64,
    now: Instant,
}

impl Door {
    fn new(config: ClassConfig) -> Self {
        Door {
            class: Class::new("room".into(), config),
            next: 1,
            now: Instant::now(),
        }
    }

    fn join_from(
        &mut self,
        role: Role,
        from: Option<IpAddr>,
    ) -> Result<(ParticipantId, Entry), ErrorCode> {
        let id = ParticipantId(self.next);
        self.next += 1;
        let grant = Grant {
            role,
            subject: None,
        };
        self.class
            .join(id, grant, format!("n{}", id.0), None, from, self.now)
            .map(|(entry, _)| (id, entry))
            .map_err(|e| e.code)
    }

    fn join(&mut self, role: Role) -> Result<ParticipantId, ErrorCode> {
        self.join_from(role, None).map(|(id, _)| id)
    }

    fn act(&mut self, who: ParticipantId, action: T) -> Result<super::Outcome, ErrorCode> {
        self.class
            .act(who, Action::Teacher(action), self.now)
            .map_err(|e| e.code)
    }

    fn ask_teacher(&mut self, teacher: ParticipantId) {
        self.act(
            teacher,
            T::SetSettings(SettingsPatch {
                guest_policy: Some(GuestPolicy::AskTeacher),
                ..SettingsPatch::default()
            }),
        )
        .expect("policy");
    }
}

fn small_class() -> ClassConfig {
    ClassConfig {
        max_participants: 5,
        teacher_seats: 2,
        ..ClassConfig::default()
    }
}

#[test]
fn a_class_full_of_pupils_still_admits_its_teacher_and_a_co_teacher() {
    let mut door = Door::new(small_class());
    for _ in 0..3 {
        door.join(Role::Pupil).expect("a pupil seat");
    }
    // One pupil link opened again and again: refused, and the teachers' seats stay free.
    for role in [Role::Pupil, Role::Observer, Role::Pupil] {
        assert_eq!(door.join(role).err(), Some(ErrorCode::RoomFull));
    }
    door.join(Role::Teacher)
        .expect("the teacher enters a full class");
    door.join(Role::Teacher).expect("and a co-teacher");
    assert_eq!(
        door.join(Role::Teacher).err(),
        Some(ErrorCode::RoomFull),
        "every seat is taken"
    );
    assert_eq!(door.class.len(), 5);
}

#[test]
fn teachers_present_do_not_take_pupil_seats() {
    let mut door = Door::new(small_class());
    door.join(Role::Teacher).expect("teacher");
    for _ in 0..3 {
        door.join(Role::Pupil).expect("pupils fill their seats");
    }
    assert_eq!(door.join(Role::Pupil).err(), Some(ErrorCode::RoomFull));
    door.join(Role::Teacher).expect("a co-teacher still enters");
}

#[test]
fn admitting_from_the_lobby_keeps_the_teacher_seats() {
    let mut door = Door::new(small_class());
    let teacher = door.join(Role::Teacher).expect("teacher");
    door.ask_teacher(teacher);
    let waiting: Vec<_> = (0..4)
        .map(|_| door.join(Role::Pupil).expect("waits"))
        .collect();
    for guest in &waiting[..3] {
        door.act(teacher, T::Admit(guest.to_string()))
            .expect("admitted");
    }
    assert_eq!(
        door.act(teacher, T::Admit(waiting[3].to_string())).err(),
        Some(ErrorCode::BadTarget),
        "the pupils' seats are taken: the last seat is a teacher's"
    );
    assert!(door.class.knows(waiting[3]), "it still waits");
    door.join(Role::Teacher).expect("a co-teacher enters");
}

#[test]
fn one_network_cannot_fill_the_lobby() {
    let mut door = Door::new(ClassConfig {
        max_lobby: 10,
        lobby_places_per_address: 3,
        ..ClassConfig::default()
    });
    let teacher = door.join(Role::Teacher).expect("teacher");
    door.ask_teacher(teacher);
    let link: IpAddr = "203.0.113.9".parse().expect("ip");
    let pupil: IpAddr = "198.51.100.20".parse().expect("ip");
    let mut first = None;
    for _ in 0..3 {
        let (id, entry) = door.join_from(Role::Pupil, Some(link)).expect("waits");
        assert_eq!(entry, Entry::Waiting);
        first.get_or_insert(id);
    }
    for _ in 0..5 {
        assert_eq!(
            door.join_from(Role::Pupil, Some(link)).err(),
            Some(ErrorCode::LobbyFull)
        );
    }
    let (real, entry) = door
        .join_from(Role::Pupil, Some(pupil))
        .expect("a real pupil still finds a place");
    assert_eq!(entry, Entry::Waiting);
    // Once one of the link's guests is dealt with, the link has a place again.
    let first = first.expect("one waited");
    door.act(teacher, T::Deny(first.to_string()))
        .expect("denied");
    door.join_from(Role::Pupil, Some(link))
        .expect("a place again");
    let out = door
        .act(teacher, T::Admit(real.to_string()))
        .expect("admitted");
    assert!(matches!(out.to(real)[0], ServerMessage::Welcome(_)));
}
