//! The classes of this node: who may join (capability tokens), each class's rules ([`Class`]),
//! the connections of its participants, and which shard holds its media.
//!
//! This file only delivers: the rules are in `class/`. Each call locks one class, asks it, then
//! (still under the lock, so no message overtakes another) queues what it said to the sockets and
//! the shard.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use sfu::{Command, MediaPlane, ParticipantId, RoomId};
use tokio::sync::Notify;

use crate::auth::{Auth, CapabilityLinks};
use crate::class::{Action, Class, ClassConfig, Entry, Grant, Outcome};
use crate::media_link::{Media, MediaLink};
use crate::protocol::{
    ByeReason, ErrorCode, IceServer, IceServers, MediaResume, ProtocolError, Role, ServerMessage,
};
use crate::tokens::random_token;
use crate::turn::TurnCredentials;
use crate::vacancy::Vacancy;

/// Where messages for one connected participant go: bounded, and never waits (see
/// [`crate::limits::outbox`]), so delivering under the class lock cannot block on a slow reader.
pub type Outbox = crate::limits::outbox::Outbox;

/// Every class on this node.
#[derive(Debug)]
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    next_room: AtomicU64,
    next_participant: AtomicU64,
    next_connection: AtomicU64,
    shard_count: usize,
    token_ttl: Duration,
    class_config: ClassConfig,
    /// Checks join tokens: capability links and, when configured, JWTs.
    auth: Arc<Auth>,
    /// Most classes `try_create` makes.
    max_rooms: usize,
    /// How long a class everyone has left is kept (see [`crate::vacancy`]).
    empty_class_linger: Duration,
    /// Wakes the sweeper early: a deadline it does not know of may have appeared.
    sweep_wanted: Notify,
    /// Signs relay credentials (`[turn]`); `None`: no relay, `ice_servers` stays empty.
    turn: Option<Arc<TurnCredentials>>,
}

/// What a [`Rooms::sweep`] did, and when the next one is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Members whose grace period ended.
    pub expired: usize,
    /// Classes removed (ended, or empty past their time).
    pub removed: usize,
    /// The earliest grace period end or class freeing still ahead, if any.
    pub next: Option<Instant>,
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
    pub observer_token: String,
    expires_at: Instant,
    state: Mutex<RoomState>,
    /// Signs the relay credentials its welcomes carry.
    turn: Option<Arc<TurnCredentials>>,
}

#[derive(Debug)]
struct RoomState {
    class: Class,
    conns: HashMap<ParticipantId, Conn>,
    links: HashMap<ParticipantId, Arc<MediaLink>>,
    vacancy: Vacancy,
    /// Removed from the node: a join that found the class just before cannot enter it any more.
    closed: bool,
}

/// The socket currently serving a participant. `generation` tells a resumed connection from the
/// one it replaced, so the old one's late goodbye changes nothing.
#[derive(Debug)]
struct Conn {
    outbox: Outbox,
    generation: u64,
}

/// Someone admission let through, about to enter a class.
#[derive(Debug)]
pub struct Newcomer {
    pub grant: Grant,
    /// The display name typed (a grant's own name wins over it).
    pub name: String,
    /// The browser's device id, for barring.
    pub device: Option<String>,
    /// The address the connection came from (the TCP peer's), counted against the lobby's
    /// places per address. Memory only: never logged, never shown.
    pub from: Option<std::net::IpAddr>,
}

/// What a `resume` asks for besides the member's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumption {
    /// Chat after this `seq` is replayed.
    pub last_chat_seq: u64,
    /// Free the old media session: the client starts a new one.
    pub restart_media: bool,
}

/// A connection that entered a class (or its lobby).
#[derive(Debug)]
pub struct Entered {
    pub room: Arc<Room>,
    pub id: ParticipantId,
    pub generation: u64,
    pub link: Arc<MediaLink>,
    pub entry: Entry,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take every class down with it: the data is still consistent
    // because no critical section leaves it half-updated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Relay credentials for `id` when a relay is configured, else none.
fn relays(turn: Option<&TurnCredentials>, id: ParticipantId, now: SystemTime) -> IceServers {
    turn.map(|turn| turn.mint(id, now)).unwrap_or_default()
}

fn no_such_room() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::NoSuchRoom,
        "this class does not exist or has ended; ask your teacher for a new link",
    )
}

impl Rooms {
    pub fn new(shard_count: usize, token_ttl: Duration, class_config: ClassConfig) -> Self {
        Rooms {
            rooms: Mutex::new(HashMap::new()),
            next_room: AtomicU64::new(1),
            next_participant: AtomicU64::new(1),
            next_connection: AtomicU64::new(1),
            shard_count: shard_count.max(1),
            token_ttl,
            class_config,
            auth: Arc::new(Auth::capability_links_only()),
            max_rooms: usize::MAX,
            empty_class_linger: Duration::from_secs(crate::config::DEFAULT_EMPTY_CLASS_LINGER_SECS),
            sweep_wanted: Notify::new(),
            turn: None,
        }
    }

    /// Gives every participant credentials for the relays `turn` signs for.
    pub fn with_turn(mut self, turn: Option<Arc<TurnCredentials>>) -> Self {
        self.turn = turn;
        self
    }

    /// Relay credentials for a network self-test probe, valid for `lifetime` only; `None`
    /// without `[turn]`.
    pub fn check_ice_servers(&self, now: SystemTime, lifetime: Duration) -> Option<Vec<IceServer>> {
        let turn = self.turn.as_deref()?;
        Some(turn.mint_as("check", now, lifetime).ice_servers)
    }

    /// Fresh relay credentials for participant `id` (empty without `[turn]`).
    pub fn ice_servers(&self, id: ParticipantId, now: SystemTime) -> IceServers {
        relays(self.turn.as_deref(), id, now)
    }

    /// Keeps a class everyone has left for `linger` once a teacher has been in it (see
    /// [`crate::vacancy`]).
    pub fn with_empty_class_linger(mut self, linger: Duration) -> Self {
        self.empty_class_linger = linger;
        self
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

    /// The token checker.
    pub fn auth(&self) -> &Arc<Auth> {
        &self.auth
    }

    /// Creates a class on the shard holding the fewest classes.
    pub fn create(&self, now: Instant) -> Arc<Room> {
        self.create_locked(&mut lock(&self.rooms), now)
    }

    /// Ids for a media session outside every class (a network self-test probe), from the same
    /// counters as the classes', so they never meet a class's on a shard.
    pub fn ids_outside_classes(&self) -> (RoomId, ParticipantId) {
        (
            RoomId(self.next_room.fetch_add(1, Ordering::Relaxed)),
            ParticipantId(self.next_participant.fetch_add(1, Ordering::Relaxed)),
        )
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
        let id = random_token();
        let pupil_token = random_token();
        let room = Arc::new(Room {
            key: RoomId(self.next_room.fetch_add(1, Ordering::Relaxed)),
            shard,
            teacher_token: random_token(),
            pupil_token: pupil_token.clone(),
            observer_token: random_token(),
            expires_at: now + self.token_ttl,
            state: Mutex::new(RoomState {
                class: Class::new(id.clone(), self.class_config).with_invite(pupil_token),
                conns: HashMap::new(),
                links: HashMap::new(),
                vacancy: Vacancy::new(now),
                closed: false,
            }),
            id,
            turn: self.turn.clone(),
        });
        rooms.insert(room.id.clone(), room.clone());
        room
    }

    fn find(&self, room_id: &str) -> Result<Arc<Room>, ProtocolError> {
        lock(&self.rooms)
            .get(room_id)
            .cloned()
            .ok_or_else(no_such_room)
    }

    /// Admission: what `token` lets its holder be in `room_id` (one of the class's capability
    /// links, still valid, or a signed join token for this class: see [`Auth::verify`]), and the
    /// name to show: the token's, else `typed_name` once checked.
    pub fn grant(
        &self,
        room_id: &str,
        token: &str,
        typed_name: &str,
        now: Instant,
    ) -> Result<(Arc<Room>, Grant, String), ProtocolError> {
        let room = self.find(room_id)?;
        let links = CapabilityLinks {
            teacher: &room.teacher_token,
            pupil: &room.pupil_token,
            observer: &room.observer_token,
            expired: now >= room.expires_at,
        };
        // JWT times are Unix times, so they need the wall clock, not the monotonic `now`.
        let verified = self
            .auth
            .verify(&room.id, token, &links, SystemTime::now())?;
        let name = verified.display_name(typed_name)?;
        let grant = Grant {
            role: verified.role,
            subject: verified.subject.or(verified.token_id),
        };
        Ok((room, grant, name))
    }

    /// Lets a verified participant into `room` (or its lobby). Its welcome (or `lobby_waiting`)
    /// is queued before anyone else can see it.
    pub fn join(
        &self,
        room: Arc<Room>,
        newcomer: Newcomer,
        outbox: Outbox,
        media: &MediaPlane,
        now: Instant,
    ) -> Result<Entered, ProtocolError> {
        let id = ParticipantId(self.next_participant.fetch_add(1, Ordering::Relaxed));
        let generation = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&room.state);
        if state.closed {
            return Err(no_such_room());
        }
        let Newcomer {
            grant,
            name,
            device,
            from,
        } = newcomer;
        let from = from.map(crate::limits::per_address::network_of);
        let (entry, out) = state.class.join(id, grant, name, device, from, now)?;
        state.conns.insert(id, Conn { outbox, generation });
        let link = Arc::new(MediaLink::default());
        state.links.insert(id, link.clone());
        room.deliver(&mut state, out, media, now);
        drop(state);
        Ok(Entered {
            room,
            id,
            generation,
            link,
            entry,
        })
    }

    /// Brings back the member `token` belongs to, on a new connection: `resumed` (with what it
    /// missed) goes to it first, `reconnected` to the others. An older connection still open
    /// for it is told `bye` (`replaced`).
    pub fn resume(
        &self,
        room_id: &str,
        token: &str,
        resumption: Resumption,
        outbox: Outbox,
        media: &MediaPlane,
        now: Instant,
    ) -> Result<Entered, ProtocolError> {
        let room = self.find(room_id)?;
        let generation = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&room.state);
        let (id, mut snapshot, out) = state.class.resume(token, resumption.last_chat_seq, now)?;
        snapshot.ice = relays(room.turn.as_deref(), id, SystemTime::now());
        let link = state.links.entry(id).or_default().clone();
        let lost = link.take_lost();
        if (lost || resumption.restart_media) && link.media() != Media::None {
            // Too much happened while it was away, or the client lost its side of the media
            // session: free it, so that the client's next offer starts a new one.
            if let Some(shard) = media.shard(room.shard) {
                let _ = shard.send(Command::Leave { participant: id }, None);
            }
            link.set_media(Media::None);
        }
        let media_state = match link.media() {
            Media::None => MediaResume::Restart,
            Media::Starting | Media::Live => MediaResume::Kept,
        };
        let _ = outbox.send(ServerMessage::Resumed {
            class: snapshot,
            media: media_state,
        });
        if let Some(old) = state.conns.insert(id, Conn { outbox, generation }) {
            let _ = old.outbox.send(ServerMessage::Bye {
                reason: ByeReason::Replaced,
            });
        }
        room.deliver(&mut state, out, media, now);
        drop(state);
        Ok(Entered {
            room,
            id,
            generation,
            link,
            entry: Entry::Joined,
        })
    }

    /// Forgets a class that ended.
    pub fn forget(&self, room_id: &str) {
        lock(&self.rooms).remove(room_id);
    }

    /// Ends the grace period of every member whose own deadline has passed, and removes the
    /// classes that ended or stayed empty past their time (see [`crate::vacancy`]). Says when
    /// the next of those is due, so the caller can sleep until then.
    pub fn sweep(&self, media: &MediaPlane, now: Instant) -> Swept {
        let mut swept = Swept::default();
        let mut rooms = lock(&self.rooms);
        let before = rooms.len();
        rooms.retain(|_, room| {
            let mut state = lock(&room.state);
            swept.expired += room.expire_locked(&mut state, media, now);
            let free_at = state
                .vacancy
                .free_at(self.empty_class_linger, room.expires_at);
            if state.class.has_ended() || free_at.is_some_and(|at| at <= now) {
                state.closed = true;
                return false;
            }
            let next = [state.class.next_deadline(), free_at];
            swept.next = swept
                .next
                .into_iter()
                .chain(next.into_iter().flatten())
                .min();
            true
        });
        swept.removed = before - rooms.len();
        swept
    }

    /// Asks the sweeper to look again now (a member dropped, or a class may have emptied).
    pub fn want_sweep(&self) {
        self.sweep_wanted.notify_one();
    }

    /// Resolves when [`Rooms::want_sweep`] was called since the last time it resolved.
    pub async fn sweep_wanted(&self) {
        self.sweep_wanted.notified().await;
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
    /// Queues what the class said: messages to the connections, commands to the shard. Then
    /// drops the connections and links of whoever is no longer in the class.
    fn deliver(&self, state: &mut RoomState, out: Outcome, media: &MediaPlane, now: Instant) {
        for (to, mut message) in out.messages {
            if let Some(conn) = state.conns.get(&to) {
                if let ServerMessage::Welcome(snapshot) = &mut message {
                    // The class rules know neither the wall clock nor the relay's secret.
                    snapshot.ice = relays(self.turn.as_deref(), to, SystemTime::now());
                }
                let _ = conn.outbox.send(message);
            }
        }
        if let Some(shard) = media.shard(self.shard) {
            for command in out.media {
                let _ = shard.send(command, None);
            }
        }
        let RoomState {
            class,
            conns,
            links,
            vacancy,
            closed: _,
        } = state;
        conns.retain(|id, _| class.knows(*id));
        links.retain(|id, _| class.knows(*id));
        let teacher_in = conns
            .keys()
            .any(|id| class.role(*id) == Some(Role::Teacher));
        vacancy.observe(now, class.is_empty(), teacher_in);
    }

    /// `id` asks something of the class. Returns whether the class ended with it.
    pub fn act(
        &self,
        id: ParticipantId,
        action: Action,
        media: &MediaPlane,
        now: Instant,
    ) -> Result<bool, ProtocolError> {
        let mut state = lock(&self.state);
        let out = state.class.act(id, action, now)?;
        let ended = out.ended;
        self.deliver(&mut state, out, media, now);
        Ok(ended)
    }

    /// Whether the connection `generation` still serves `id`.
    fn current(state: &RoomState, id: ParticipantId, generation: u64) -> bool {
        state
            .conns
            .get(&id)
            .is_some_and(|c| c.generation == generation)
    }

    /// The participant left for good (or its session ended on the server's word).
    pub fn leave(&self, id: ParticipantId, generation: u64, media: &MediaPlane, now: Instant) {
        let mut state = lock(&self.state);
        if !Self::current(&state, id, generation) {
            return;
        }
        let out = state.class.leave(id);
        self.deliver(&mut state, out, media, now);
    }

    /// The participant's socket dropped: it is kept for the grace period, until the returned
    /// instant (its own deadline), and may resume until then. [`Rooms::sweep`] ends the grace.
    pub fn disconnect(
        &self,
        id: ParticipantId,
        generation: u64,
        media: &MediaPlane,
        now: Instant,
    ) -> Option<Instant> {
        let mut state = lock(&self.state);
        if !Self::current(&state, id, generation) {
            return None;
        }
        state.conns.remove(&id);
        if let Some(link) = state.links.get(&id) {
            link.detach();
        }
        let out = state.class.disconnect(id, now);
        self.deliver(&mut state, out, media, now);
        state.class.grace_ends(id)
    }

    /// Those whose grace period is over leave. Returns how many.
    fn expire_locked(&self, state: &mut RoomState, media: &MediaPlane, now: Instant) -> usize {
        let before = state.class.len();
        let out = state.class.expire(now);
        self.deliver(state, out, media, now);
        before - state.class.len()
    }

    /// Whether `id` is in the class (not waiting in the lobby).
    pub fn is_member(&self, id: ParticipantId) -> bool {
        lock(&self.state).class.is_member(id)
    }

    /// The role of member `id` (None when it is not a member).
    pub fn role(&self, id: ParticipantId) -> Option<Role> {
        lock(&self.state).class.role(id)
    }

    /// Starts `id`'s media session with its first offer (`join`, a `Command::Join`), followed at
    /// once by its current rights and video quality wishes, all under the class lock: no change
    /// can slip between.
    pub fn start_media(
        &self,
        id: ParticipantId,
        join: Command,
        link: &Arc<MediaLink>,
        media: &MediaPlane,
    ) -> Result<(), ProtocolError> {
        let state = lock(&self.state);
        let settings = state.class.media_settings(id).ok_or_else(|| {
            ProtocolError::new(ErrorCode::NotJoined, "wait for a teacher to let you in")
        })?;
        let shard = media.shard(self.shard).ok_or_else(media_down)?;
        link.set_media(Media::Starting);
        shard
            .send(join, Some(link.sink()))
            .map_err(|_| media_down())?;
        for command in settings {
            shard.send(command, None).map_err(|_| media_down())?;
        }
        Ok(())
    }

    /// Number of participants in the class.
    pub fn member_count(&self) -> usize {
        lock(&self.state).class.len()
    }
}

/// The error for a shard that is not running.
pub fn media_down() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::ServerError,
        "the media server is not running; try again later",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms() -> Rooms {
        Rooms::new(2, Duration::from_secs(60), ClassConfig::default())
    }

    /// A media plane of one shard on a loopback port the OS picks (nothing here sends media).
    fn no_media() -> MediaPlane {
        MediaPlane::start(&sfu::MediaConfig {
            shards: 1,
            bind_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            public_ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
            port_base: 0,
            tcp_port_base: 0,
            tcp_limits: sfu::TcpLimits::default(),
            connect_timeout: Duration::from_secs(20),
            downlink_estimation: false,
        })
        .expect("media plane on loopback")
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
        let role = |token: &str, at: Instant| {
            rooms
                .grant(&room.id, token, "Pupil", at)
                .map(|(_, g, _)| g.role)
                .map_err(|e| e.code)
        };
        assert_eq!(role(&room.teacher_token, now), Ok(Role::Teacher));
        assert_eq!(role(&room.pupil_token, now), Ok(Role::Pupil));
        assert_eq!(role(&room.observer_token, now), Ok(Role::Observer));
        assert_eq!(role("forged", now), Err(ErrorCode::BadToken));
        let later = now + Duration::from_secs(61);
        assert_eq!(role(&room.pupil_token, later), Err(ErrorCode::TokenExpired));
        assert_eq!(
            rooms
                .grant("nope", &room.pupil_token, "Pupil", now)
                .map(|_| ())
                .map_err(|e| e.code),
            Err(ErrorCode::NoSuchRoom)
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
    fn expired_empty_classes_go() {
        let rooms = rooms();
        let media = no_media();
        let now = Instant::now();
        rooms.create(now);
        let swept = rooms.sweep(&media, now);
        assert_eq!(swept.removed, 0);
        assert_eq!(
            swept.next,
            Some(now + Duration::from_secs(60)),
            "when the links expire"
        );
        assert_eq!(
            rooms.sweep(&media, now + Duration::from_secs(120)).removed,
            1
        );
        assert!(rooms.is_empty());
    }
}
