//! Raised hands: an ordered queue, first raised first. Each participant is in it at most once, so
//! it is bounded by the class size.

use std::collections::VecDeque;

use sfu::ParticipantId;

/// The queue of raised hands.
#[derive(Debug, Default, Clone)]
pub struct Hands {
    queue: VecDeque<ParticipantId>,
}

impl Hands {
    /// Raises `who`'s hand at the back of the queue. Returns false if it was already up.
    pub fn raise(&mut self, who: ParticipantId) -> bool {
        if self.queue.contains(&who) {
            return false;
        }
        self.queue.push_back(who);
        true
    }

    /// Lowers `who`'s hand. Returns false if it was not up.
    pub fn lower(&mut self, who: ParticipantId) -> bool {
        let before = self.queue.len();
        self.queue.retain(|p| *p != who);
        self.queue.len() != before
    }

    /// Lowers every hand. Returns false if none was up.
    pub fn clear(&mut self) -> bool {
        let any = !self.queue.is_empty();
        self.queue.clear();
        any
    }

    /// 1-based place of `who` in the queue (clients count it from `hands`).
    #[cfg(test)]
    pub fn position(&self, who: ParticipantId) -> Option<usize> {
        self.queue.iter().position(|p| *p == who).map(|i| i + 1)
    }

    /// The queue as ids on the wire.
    pub fn wire(&self) -> Vec<String> {
        self.queue.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_keep_their_order_and_are_raised_once() {
        let mut hands = Hands::default();
        assert!(hands.raise(ParticipantId(3)));
        assert!(hands.raise(ParticipantId(1)));
        assert!(!hands.raise(ParticipantId(3)));
        assert_eq!(hands.wire(), vec!["p3", "p1"]);
        assert_eq!(hands.position(ParticipantId(1)), Some(2));
        assert!(hands.lower(ParticipantId(3)));
        assert!(!hands.lower(ParticipantId(3)));
        assert_eq!(hands.position(ParticipantId(1)), Some(1));
        assert!(hands.clear());
        assert!(!hands.clear());
    }
}
