//! The classes of this node: who may join (capability tokens), who is in, and which shard holds
//! each class's media.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sfu::{ParticipantId, RoomId};
use tokio::sync::mpsc::UnboundedSender;

use crate::auth::{Auth, CapabilityLinks, JoinGrant};
use crate::protocol::{
    ErrorCode, ParticipantInfo, ProtocolError, Role, ServerMessage, PROTOCOL_VERSION,
};
use crate::tokens::random_token;

/// Where messages for one connected participant go.
pub type Outbox = UnboundedSender<ServerMessage>;

/// Every class on this node.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_room: AtomicU64,
    next_participant: AtomicU64,
    shard_count: usize,
    token_ttl: Duration,
    max_participants: usize,
    /// Checks join tokens (capability links and JWTs).
    auth: Arc<Auth>,
    /// Most classes `try_create` makes.
    max_rooms: usize,
}

/// One class.
#[derive(Debug)]
pub struct Room {
    /// Public id (in URLs): 128 random bits.
    pub id: String,
    /// The media plane's id.
    pub key: RoomId,
    /// The shard that holds the class's media.
    pub shard: usize,
    pub teacher_token: String,
    pub pupil_token: String,
    expires_at: Instant,
    members: Mutex<HashMap<ParticipantId, Member>>,
}

#[derive(Debug)]
struct Member {
    info: ParticipantInfo,
    outbox: Outbox,
}

/// A participant let into a class (its `welcome`, listing who was there, is already queued).
#[derive(Debug)]
pub struct Admission {
    pub room: Arc<Room>,
    pub id: ParticipantId,
    pub you: ParticipantInfo,
    /// What the token granted (subject, token id, expiry: what a kick revokes).
    pub grant: JoinGrant,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take every class down with it: the data is still consistent
    // because no critical section leaves it half-updated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Rooms {
    pub fn new(shard_count: usize, token_ttl: Duration, max_participants: usize) -> Self {
        Rooms {
            rooms: Mutex::new(HashMap::new()),
            next_room: AtomicU64::new(1),
            next_participant: AtomicU64::new(1),
            shard_count: shard_count.max(1),
            token_ttl,
            max_participants,
            auth: Arc::new(Auth::capability_links_only()),
            max_rooms: usize::MAX,
        }
    }

    /// Uses `auth` to check join tokens (the default accepts capability links only).
    pub fn with_auth(mut self, auth: Arc<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// Caps the classes `try_create` makes.
    pub fn with_max_rooms(mut self, max_rooms: usize) -> Self {
        self.max_rooms = max_rooms;
        self
    }

    /// The token checker (and its revocation list).
    pub fn auth(&self) -> &Arc<Auth> {
        &self.auth
    }

    /// Creates a class on the shard holding the fewest classes.
    pub fn create(&self, now: Instant) -> Arc<Room> {
        self.create_locked(&mut lock(&self.rooms), now)
    }

    /// Like [`Rooms::create`], but `None` when the node already holds its most classes (checked
    /// under the same lock as the insert, so concurrent requests cannot overshoot).
    pub fn try_create(&self, now: Instant) -> Option<Arc<Room>> {
        let mut rooms = lock(&self.rooms);
        (rooms.len() < self.max_rooms).then(|| self.create_locked(&mut rooms, now))
    }

    fn create_locked(&self, rooms: &mut HashMap<String, Arc<Room>>, now: Instant) -> Arc<Room> {
        let mut load = vec![0usize; self.shard_count];
        for room in rooms.values() {
            load[room.shard] += 1;
        }
        let shard = (0..self.shard_count)
            .min_by_key(|s| load[*s])
            .unwrap_or_default();
        let room = Arc::new(Room {
            id: random_token(),
            key: RoomId(self.next_room.fetch_add(1, Ordering::Relaxed)),
            shard,
            teacher_token: random_token(),
            pupil_token: random_token(),
            expires_at: now + self.token_ttl,
            members: Mutex::new(HashMap::new()),
        });
        rooms.insert(room.id.clone(), room.clone());
        room
    }

    /// Lets a participant in, if the room exists, the token is valid for it (see [`Auth::verify`]),
    /// the name is valid (a token's name wins over the typed one), and there is room. Tells the
    /// others.
    pub fn admit(
        &self,
        room_id: &str,
        token: &str,
        typed_name: &str,
        outbox: Outbox,
        now: Instant,
    ) -> Result<Admission, ProtocolError> {
        let room = lock(&self.rooms).get(room_id).cloned().ok_or_else(|| {
            ProtocolError::new(
                ErrorCode::NoSuchRoom,
                "this class does not exist or has ended; ask your teacher for a new link",
            )
        })?;
        let links = CapabilityLinks {
            teacher: &room.teacher_token,
            pupil: &room.pupil_token,
            expired: now >= room.expires_at,
        };
        // JWT times are Unix times, so they need the wall clock, not the monotonic `now`.
        let grant = self
            .auth
            .verify(&room.id, token, &links, SystemTime::now())?;
        let name = grant.display_name(typed_name)?;
        let role = grant.role;
        let id = ParticipantId(self.next_participant.fetch_add(1, Ordering::Relaxed));
        let you = ParticipantInfo {
            id: id.to_string(),
            name,
            role,
            // An observer publishes nothing: nobody should see a live mic or camera for them.
            audio: role != Role::Observer,
            video: role != Role::Observer,
        };
        let mut members = lock(&room.members);
        if members.len() >= self.max_participants {
            return Err(ProtocolError::new(
                ErrorCode::RoomFull,
                format!(
                    "this class is full ({} participants)",
                    self.max_participants
                ),
            ));
        }
        // The welcome is queued under the lock, before the newcomer is visible to anyone: no
        // `participant_left` or `participant_joined` about others can overtake it.
        let _ = outbox.send(ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            room: room.id.clone(),
            you: you.clone(),
            participants: members.values().map(|m| m.info.clone()).collect(),
        });
        for member in members.values() {
            let _ = member.outbox.send(ServerMessage::ParticipantJoined {
                participant: you.clone(),
            });
        }
        members.insert(
            id,
            Member {
                info: you.clone(),
                outbox,
            },
        );
        drop(members);
        Ok(Admission {
            room,
            id,
            you,
            grant,
        })
    }

    /// Removes expired classes that nobody is in. Returns how many went.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut rooms = lock(&self.rooms);
        let before = rooms.len();
        rooms.retain(|_, room| now < room.expires_at || room.member_count() > 0);
        before - rooms.len()
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        lock(&self.rooms).len()
    }

    /// True when there is no class.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of participants over all classes.
    pub fn participant_count(&self) -> usize {
        lock(&self.rooms).values().map(|r| r.member_count()).sum()
    }
}

impl Room {
    /// Takes a participant out and tells the others.
    pub fn leave(&self, id: ParticipantId) {
        let mut members = lock(&self.members);
        if members.remove(&id).is_none() {
            return;
        }
        for member in members.values() {
            let _ = member
                .outbox
                .send(ServerMessage::ParticipantLeft { id: id.to_string() });
        }
    }

    /// Records a participant's mic/camera state and tells the others.
    pub fn update_media_state(&self, id: ParticipantId, audio: bool, video: bool) {
        let mut members = lock(&self.members);
        let Some(member) = members.get_mut(&id) else {
            return;
        };
        member.info.audio = audio;
        member.info.video = video;
        let info = member.info.clone();
        for (other, member) in members.iter() {
            if *other != id {
                let _ = member.outbox.send(ServerMessage::ParticipantUpdated {
                    participant: info.clone(),
                });
            }
        }
    }

    /// Number of participants in the class.
    pub fn member_count(&self) -> usize {
        lock(&self.members).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    fn rooms() -> Rooms {
        Rooms::new(2, Duration::from_secs(60), 2)
    }

    #[test]
    fn classes_spread_over_shards() {
        let rooms = rooms();
        let now = Instant::now();
        let shards: Vec<_> = (0..4).map(|_| rooms.create(now).shard).collect();
        assert_eq!(shards.iter().filter(|s| **s == 0).count(), 2);
        assert_eq!(shards.iter().filter(|s| **s == 1).count(), 2);
    }

    #[test]
    fn tokens_decide_the_role_and_others_are_refused() {
        let rooms = rooms();
        let now = Instant::now();
        let room = rooms.create(now);
        let (tx, _rx) = unbounded_channel();
        let teacher = rooms
            .admit(&room.id, &room.teacher_token, "T", tx.clone(), now)
            .expect("teacher admitted");
        assert_eq!(teacher.you.role, Role::Teacher);
        let pupil = rooms
            .admit(&room.id, &room.pupil_token, "P", tx.clone(), now)
            .expect("pupil admitted");
        assert_eq!(pupil.you.role, Role::Pupil);
        let code = |r: Result<Admission, ProtocolError>| r.map(|_| ()).map_err(|e| e.code);
        assert_eq!(
            code(rooms.admit(&room.id, "forged", "X", tx.clone(), now)),
            Err(ErrorCode::BadToken)
        );
        assert_eq!(
            code(rooms.admit("nope", &room.pupil_token, "X", tx.clone(), now)),
            Err(ErrorCode::NoSuchRoom)
        );
        assert_eq!(
            code(rooms.admit(&room.id, &room.pupil_token, "X", tx.clone(), now)),
            Err(ErrorCode::RoomFull)
        );
        let later = now + Duration::from_secs(61);
        room.leave(pupil.id);
        assert_eq!(
            code(rooms.admit(&room.id, &room.pupil_token, "X", tx, later)),
            Err(ErrorCode::TokenExpired)
        );
    }

    #[test]
    fn no_class_is_created_past_the_node_cap() {
        let rooms = rooms().with_max_rooms(2);
        let now = Instant::now();
        assert!(rooms.try_create(now).is_some());
        assert!(rooms.try_create(now).is_some());
        assert!(rooms.try_create(now).is_none());
        assert_eq!(rooms.len(), 2);
    }

    #[test]
    fn expired_classes_go_once_empty() {
        let rooms = rooms();
        let now = Instant::now();
        let room = rooms.create(now);
        let (tx, _rx) = unbounded_channel();
        let a = rooms
            .admit(&room.id, &room.pupil_token, "P", tx, now)
            .expect("admitted");
        let later = now + Duration::from_secs(120);
        assert_eq!(rooms.sweep(later), 0, "occupied class stays");
        room.leave(a.id);
        assert_eq!(rooms.sweep(later), 1);
        assert!(rooms.is_empty());
    }
}
