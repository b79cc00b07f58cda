//! The bounded queue of messages waiting for one session's socket.
//!
//! The class fills it under its lock, so [`Outbox::send`] never waits: a member that does not
//! read must cost the others nothing, and hold a bounded amount of memory. What happens when the
//! reader falls behind depends on what the message is:
//!
//! - **state** (`participant_updated` of one participant, `rights`, `settings`, `hands`, `lobby`,
//!   `active_speaker`): each carries the whole state, so once the queue is half full a newer one
//!   replaces the older one still queued (it is appended at the back, so nothing it describes
//!   arrives in another order than without coalescing; only intermediate states are skipped);
//! - **droppable** (`active_speaker`, `pong`): when the queue is full they go first;
//! - **everything else** (welcome, chat, offers, answers, tracks, joins and leaves, errors) cannot
//!   be dropped without leaving the client wrong: when it does not fit, the queue overflows, is
//!   emptied, and the session is closed as too slow (4009). The client may `resume`, which
//!   replays the chat it missed and sends the class as it is.
//!
//! `bye` always fits: it is the last message a session gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::counters::LimitCounters;
use crate::protocol::ServerMessage;

/// The sending side, held by the class (one per connection) and by the session itself.
#[derive(Debug, Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The session's side: what to write to the socket next.
#[derive(Debug)]
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

/// Why [`Outbox::send`] did not queue a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// A droppable message did not fit, and was dropped (counted).
    Dropped,
    /// The queue overflowed (now, or earlier): the session is being closed as too slow.
    Overflowed,
    /// The session has ended.
    Closed,
}

/// The reader fell too far behind: close the session as too slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflowed;

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Notify,
    capacity: usize,
    counters: Arc<LimitCounters>,
}

#[derive(Debug)]
struct Queue {
    messages: VecDeque<ServerMessage>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Overflowed,
    Closed,
}

/// A new outbox holding at most `capacity` messages.
pub fn outbox(capacity: usize, counters: Arc<LimitCounters>) -> (Outbox, OutboxReceiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            messages: VecDeque::new(),
            state: State::Open,
        }),
        ready: Notify::new(),
        capacity: capacity.max(2),
        counters,
    });
    (
        Outbox {
            shared: shared.clone(),
        },
        OutboxReceiver { shared },
    )
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every critical section leaves the queue whole, so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Outbox {
    /// Queues `message` by the policy of its kind. Never waits.
    pub fn send(&self, message: ServerMessage) -> Result<(), NotQueued> {
        let shared = &*self.shared;
        let counters = &shared.counters;
        let mut queue = shared.lock();
        match queue.state {
            State::Open => {}
            State::Overflowed => return Err(NotQueued::Overflowed),
            State::Closed => return Err(NotQueued::Closed),
        }
        let messages = &mut queue.messages;
        if messages.len() >= shared.capacity / 2 && coalescable(&message) {
            if let Some(older) = messages.iter().position(|m| supersedes(&message, m)) {
                messages.remove(older);
                counters.outbox_coalesced.add();
                counters.outbox_queued.sub(1);
            }
        }
        let is_bye = matches!(message, ServerMessage::Bye { .. });
        if messages.len() >= shared.capacity && !is_bye {
            if let Some(stale) = messages.iter().position(droppable) {
                messages.remove(stale);
                counters.outbox_dropped.add();
                counters.outbox_queued.sub(1);
            } else if droppable(&message) {
                counters.outbox_dropped.add();
                return Err(NotQueued::Dropped);
            } else {
                let freed = messages.len() as u64;
                *messages = VecDeque::new();
                queue.state = State::Overflowed;
                counters.outbox_queued.sub(freed);
                counters.closed_queue_full.add();
                drop(queue);
                shared.ready.notify_one();
                return Err(NotQueued::Overflowed);
            }
        }
        messages.push_back(message);
        counters.outbox_queued.add(1);
        drop(queue);
        shared.ready.notify_one();
        Ok(())
    }
}

impl OutboxReceiver {
    /// The next message, waiting for one; `Overflowed` once the reader fell too far behind.
    pub async fn recv(&mut self) -> Result<ServerMessage, Overflowed> {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            // A send between the check and here leaves a permit, so this cannot miss it.
            self.shared.ready.notified().await;
        }
    }

    /// Resolves once the outbox has overflowed.
    pub async fn overflowed(&self) {
        loop {
            if self.shared.lock().state == State::Overflowed {
                return;
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next message if one is queued now.
    pub fn try_recv(&mut self) -> Option<ServerMessage> {
        self.try_next().and_then(Result::ok)
    }

    fn try_next(&mut self) -> Option<Result<ServerMessage, Overflowed>> {
        let mut queue = self.shared.lock();
        if queue.state == State::Overflowed {
            return Some(Err(Overflowed));
        }
        let message = queue.messages.pop_front()?;
        self.shared.counters.outbox_queued.sub(1);
        Some(Ok(message))
    }

    /// How many messages wait now.
    pub fn len(&self) -> usize {
        self.shared.lock().messages.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for OutboxReceiver {
    /// The session ended: what still waits is freed now, and later sends are refused, even if
    /// the class keeps its side of the outbox for a while (the grace period).
    fn drop(&mut self) {
        let mut queue = self.shared.lock();
        let freed = queue.messages.len() as u64;
        queue.messages = VecDeque::new();
        queue.state = State::Closed;
        self.shared.counters.outbox_queued.sub(freed);
    }
}

/// Messages that may be dropped when the queue is full: the next one says the same.
fn droppable(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::ActiveSpeaker { .. } | ServerMessage::Pong
    )
}

/// Messages that carry a whole state, so that a newer one makes an older one useless.
fn coalescable(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::ActiveSpeaker { .. }
            | ServerMessage::Pong
            | ServerMessage::ParticipantUpdated { .. }
            | ServerMessage::Rights { .. }
            | ServerMessage::Settings { .. }
            | ServerMessage::Hands { .. }
            | ServerMessage::Lobby { .. }
            | ServerMessage::VideoPaused { .. }
            | ServerMessage::VideoResumed { .. }
    )
}

/// Whether `new` describes the same state as `old`, so that `old` need not be sent.
fn supersedes(new: &ServerMessage, old: &ServerMessage) -> bool {
    use ServerMessage as M;
    match (new, old) {
        (M::ParticipantUpdated { participant: a }, M::ParticipantUpdated { participant: b }) => {
            a.id == b.id
        }
        (
            M::VideoPaused {
                participant: a,
                source: x,
                ..
            }
            | M::VideoResumed {
                participant: a,
                source: x,
            },
            M::VideoPaused {
                participant: b,
                source: y,
                ..
            }
            | M::VideoResumed {
                participant: b,
                source: y,
            },
        ) => a == b && x == y,
        (M::ActiveSpeaker { .. }, M::ActiveSpeaker { .. })
        | (M::Pong, M::Pong)
        | (M::Rights { .. }, M::Rights { .. })
        | (M::Settings { .. }, M::Settings { .. })
        | (M::Hands { .. }, M::Hands { .. })
        | (M::Lobby { .. }, M::Lobby { .. }) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ByeReason, ChatEntry, ParticipantInfo, Role};

    fn queue(capacity: usize) -> (Outbox, OutboxReceiver, Arc<LimitCounters>) {
        let counters = Arc::new(LimitCounters::default());
        let (tx, rx) = outbox(capacity, counters.clone());
        (tx, rx, counters)
    }

    fn chat(seq: u64) -> ServerMessage {
        ServerMessage::Chat(ChatEntry {
            seq,
            from: "1".into(),
            name: "Ada".into(),
            text: format!("message {seq}"),
        })
    }

    fn updated(id: &str, video: bool) -> ServerMessage {
        ServerMessage::ParticipantUpdated {
            participant: ParticipantInfo {
                id: id.into(),
                name: "Ada".into(),
                role: Role::Pupil,
                audio: true,
                video,
                screen: false,
                rights: Default::default(),
                reconnecting: false,
            },
        }
    }

    fn drain(rx: &mut OutboxReceiver) -> Vec<ServerMessage> {
        std::iter::from_fn(|| rx.try_recv()).collect()
    }

    #[test]
    fn below_half_full_every_message_arrives_in_order() {
        let (tx, mut rx, counters) = queue(64);
        let sent: Vec<_> = (0..31)
            .map(|i| {
                if i % 2 == 0 {
                    chat(i)
                } else {
                    updated("7", i % 4 == 1)
                }
            })
            .collect();
        for m in &sent {
            assert_eq!(tx.send(m.clone()), Ok(()));
        }
        assert_eq!(counters.outbox_queued.get(), 31);
        assert_eq!(drain(&mut rx), sent);
        assert_eq!(counters.outbox_queued.get(), 0);
        assert_eq!(counters.outbox_coalesced.get(), 0);
    }

    #[test]
    fn under_pressure_a_newer_state_replaces_the_queued_one_at_the_back() {
        let (tx, mut rx, counters) = queue(8);
        for i in 0..4 {
            tx.send(chat(i)).expect("fits");
        }
        tx.send(updated("7", false)).expect("fits");
        tx.send(updated("8", false)).expect("fits");
        tx.send(chat(4)).expect("fits");
        tx.send(updated("7", true)).expect("fits");
        assert_eq!(counters.outbox_coalesced.get(), 1);
        let got = drain(&mut rx);
        let expected = vec![
            chat(0),
            chat(1),
            chat(2),
            chat(3),
            updated("8", false),
            chat(4),
            updated("7", true),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn a_full_queue_drops_speaker_updates_first_then_overflows_on_what_cannot_be_dropped() {
        let (tx, mut rx, counters) = queue(4);
        tx.send(ServerMessage::ActiveSpeaker {
            participant: "1".into(),
        })
        .expect("fits");
        for i in 0..3 {
            tx.send(chat(i)).expect("fits");
        }
        // Full: the queued speaker update makes room for the chat.
        assert_eq!(tx.send(chat(3)), Ok(()));
        assert_eq!(counters.outbox_dropped.get(), 1);
        // Full of chat: a pong is dropped, a chat overflows.
        assert_eq!(tx.send(ServerMessage::Pong), Err(NotQueued::Dropped));
        assert_eq!(tx.send(chat(4)), Err(NotQueued::Overflowed));
        assert_eq!(counters.closed_queue_full.get(), 1);
        assert_eq!(counters.outbox_queued.get(), 0, "the queue was freed");
        assert!(rx.is_empty());
        assert_eq!(rx.try_next(), Some(Err(Overflowed)));
        assert_eq!(tx.send(chat(5)), Err(NotQueued::Overflowed));
    }

    #[test]
    fn bye_always_fits() {
        let (tx, mut rx, _) = queue(2);
        tx.send(chat(0)).expect("fits");
        tx.send(chat(1)).expect("fits");
        let bye = ServerMessage::Bye {
            reason: ByeReason::Kicked,
        };
        assert_eq!(tx.send(bye.clone()), Ok(()));
        assert_eq!(drain(&mut rx), vec![chat(0), chat(1), bye]);
    }

    #[test]
    fn an_ended_session_frees_its_queue_and_refuses_more() {
        let (tx, rx, counters) = queue(8);
        tx.send(chat(0)).expect("fits");
        tx.send(chat(1)).expect("fits");
        drop(rx);
        assert_eq!(counters.outbox_queued.get(), 0);
        assert_eq!(tx.send(chat(2)), Err(NotQueued::Closed));
    }

    #[tokio::test]
    async fn recv_wakes_on_a_send_from_another_task() {
        let (tx, mut rx, _) = queue(8);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(chat(9)).expect("fits");
        });
        assert_eq!(rx.recv().await, Ok(chat(9)));
        sender.await.expect("sender");
    }
}
