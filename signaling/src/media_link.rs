//! The link between a participant's media session in a shard and whichever WebSocket session
//! serves it now. It outlives a dropped socket, so a participant that resumes within the grace
//! period gets its media events again, and learns whether its media session survived.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sfu::{EventSink, MediaEvent};
use tokio::sync::mpsc::UnboundedSender;

/// Whether the shard holds a media session for this participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// No offer sent yet, the first one was refused, or the session ended.
    None,
    /// The first offer went to the shard; no answer yet.
    Starting,
    /// The shard answered: the session exists.
    Live,
}

/// Most events kept while no socket is attached. Offers and track announcements made during a
/// short drop must reach the client when it resumes, or the negotiation would hang; a long burst
/// instead marks the session lost, and the client starts a fresh one.
const MAX_HELD_EVENTS: usize = 64;

#[derive(Debug)]
struct State {
    to: Option<UnboundedSender<MediaEvent>>,
    media: Media,
    held: VecDeque<MediaEvent>,
    lost: bool,
}

/// One participant's media link.
#[derive(Debug)]
pub struct MediaLink {
    state: Mutex<State>,
}

impl Default for MediaLink {
    fn default() -> Self {
        MediaLink {
            state: Mutex::new(State {
                to: None,
                media: Media::None,
                held: VecDeque::new(),
                lost: false,
            }),
        }
    }
}

impl MediaLink {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the shard sends this participant's events: the current session, if any. The link
    /// tracks the session's life itself, so it is right even while no socket is attached.
    pub fn sink(self: &std::sync::Arc<Self>) -> EventSink {
        let link = self.clone();
        Box::new(move |event| {
            let mut state = link.lock();
            match event {
                MediaEvent::Answer { .. } => state.media = Media::Live,
                MediaEvent::Gone => {
                    state.media = Media::None;
                    if state.to.is_none() {
                        // Nobody to tell: a resuming client learns it from `media: restart`,
                        // and what was held belongs to the session that just ended.
                        state.held.clear();
                        state.lost = false;
                        return;
                    }
                }
                _ => {}
            }
            if let Some(to) = &state.to {
                let _ = to.send(event);
            } else if state.held.len() < MAX_HELD_EVENTS {
                state.held.push_back(event);
            } else {
                state.lost = true;
            }
        })
    }

    /// Sends events to `to` from now on, starting with those held while detached.
    pub fn attach(&self, to: UnboundedSender<MediaEvent>) {
        let mut state = self.lock();
        for event in state.held.drain(..) {
            let _ = to.send(event);
        }
        state.to = Some(to);
    }

    /// Whether events were dropped while detached (the media session can no longer be trusted
    /// to match the client's). Clears the events held and the mark.
    pub fn take_lost(&self) -> bool {
        let mut state = self.lock();
        if state.lost {
            state.held.clear();
        }
        std::mem::take(&mut state.lost)
    }

    /// Drops events until a session attaches again.
    pub fn detach(&self) {
        self.lock().to = None;
    }

    /// Where the media session stands.
    pub fn media(&self) -> Media {
        self.lock().media
    }

    /// Records a change the session made (an offer sent, a first offer refused).
    pub fn set_media(&self, media: Media) {
        self.lock().media = media;
    }
}
