//! Revoked join tokens: a kicked participant's subject (or token id) is refused until the token
//! would have expired anyway, so reconnecting with the same link does not bring them back.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::JoinGrant;

/// Most revocations kept per node. A class kicks a handful of people; this bounds the memory a
/// misbehaving moderator (or a bug) can take.
pub const MAX_REVOCATIONS: usize = 10_000;

/// What is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Revoked {
    /// Every token for this subject (`sub`): the person.
    Subject(String),
    /// One token (`jti`).
    TokenId(String),
}

/// Revoked subjects and token ids, per class, each until a time.
#[derive(Debug)]
pub struct Revocations {
    entries: Mutex<HashMap<(String, Revoked), SystemTime>>,
    capacity: usize,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations::with_capacity(MAX_REVOCATIONS)
    }
}

impl Revocations {
    /// An empty set holding at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Revocations {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Refuses `what` in class `room` until `until` (the token's `exp`: after it, the token is
    /// refused as expired anyway, so the entry can go).
    pub fn revoke(&self, room: &str, what: Revoked, until: SystemTime, now: SystemTime) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, until| *until > now);
        }
        if entries.len() >= self.capacity {
            // Still full of live entries: drop the one that would lapse first, so a new kick
            // (the one that matters now) always takes effect.
            let soonest = entries
                .iter()
                .min_by_key(|(_, until)| **until)
                .map(|(key, _)| key.clone());
            if let Some(key) = soonest {
                entries.remove(&key);
                tracing::warn!(
                    capacity = self.capacity,
                    "revocation list full; dropped the entry closest to expiry"
                );
            }
        }
        let entry = entries.entry((room.to_owned(), what)).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Revokes what a grant was given for: its subject if it has one, else its token id, until
    /// the token expires. Returns false for grants that cannot be revoked alone (capability links
    /// are shared by the whole class).
    pub fn revoke_grant(&self, room: &str, grant: &JoinGrant, now: SystemTime) -> bool {
        let Some(until) = grant.expires_at else {
            return false;
        };
        let what = match (&grant.subject, &grant.token_id) {
            (Some(subject), _) => Revoked::Subject(subject.clone()),
            (None, Some(id)) => Revoked::TokenId(id.clone()),
            (None, None) => return false,
        };
        self.revoke(room, what, until, now);
        true
    }

    /// True when the subject or the token id is revoked in `room` at `now`.
    pub fn is_revoked(
        &self,
        room: &str,
        subject: Option<&str>,
        token_id: Option<&str>,
        now: SystemTime,
    ) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.is_empty() {
            return false;
        }
        let live = |what: Revoked| {
            entries
                .get(&(room.to_owned(), what))
                .is_some_and(|until| *until > now)
        };
        subject.is_some_and(|s| live(Revoked::Subject(s.to_owned())))
            || token_id.is_some_and(|t| live(Revoked::TokenId(t.to_owned())))
    }

    /// Entries held (live or not yet purged).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_revoked_subject_is_refused_in_its_class_only_until_expiry() {
        let r = Revocations::default();
        r.revoke("room", Revoked::Subject("s1".into()), at(100), at(0));
        assert!(r.is_revoked("room", Some("s1"), None, at(50)));
        assert!(!r.is_revoked("other-room", Some("s1"), None, at(50)));
        assert!(!r.is_revoked("room", Some("s2"), Some("s1"), at(50)));
        assert!(!r.is_revoked("room", Some("s1"), None, at(100)));
    }

    #[test]
    fn a_grant_is_revoked_by_subject_else_by_token_id() {
        let r = Revocations::default();
        let mut grant = JoinGrant {
            role: Role::Pupil,
            name: None,
            subject: None,
            token_id: Some("t1".into()),
            expires_at: Some(at(100)),
        };
        assert!(r.revoke_grant("room", &grant, at(0)));
        assert!(r.is_revoked("room", None, Some("t1"), at(1)));
        grant.subject = Some("s1".into());
        assert!(r.revoke_grant("room", &grant, at(0)));
        assert!(r.is_revoked("room", Some("s1"), Some("t-new"), at(1)));
        grant.expires_at = None;
        assert!(!r.revoke_grant("room", &grant, at(0)), "capability links");
    }

    #[test]
    fn the_set_is_bounded_and_keeps_the_newest_kick() {
        let r = Revocations::with_capacity(3);
        for i in 0..3 {
            r.revoke("room", Revoked::TokenId(format!("t{i}")), at(10 + i), at(0));
        }
        r.revoke("room", Revoked::TokenId("new".into()), at(50), at(0));
        assert_eq!(r.len(), 3);
        assert!(r.is_revoked("room", None, Some("new"), at(1)));
        assert!(
            !r.is_revoked("room", None, Some("t0"), at(1)),
            "soonest dropped"
        );
        // Expired entries make room first.
        r.revoke("room", Revoked::TokenId("later".into()), at(60), at(20));
        assert_eq!(r.len(), 2);
    }
}
