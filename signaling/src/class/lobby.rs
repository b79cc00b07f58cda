//! The lobby: pupils and observers waiting for a teacher to let them in, when the guest policy
//! says to ask. Bounded, so a flood of joins cannot grow it without limit.

use sfu::ParticipantId;

use crate::protocol::LobbyEntry;

use super::Grant;

/// Someone waiting, with what they will enter with.
#[derive(Debug, Clone)]
pub struct Guest {
    pub id: ParticipantId,
    pub grant: Grant,
    pub name: String,
    pub device: Option<String>,
}

/// The waiting list, first come first listed.
#[derive(Debug, Clone, Default)]
pub struct Lobby {
    waiting: Vec<Guest>,
}

impl Lobby {
    /// Adds a guest unless `capacity` guests already wait.
    pub fn push(&mut self, guest: Guest, capacity: usize) -> bool {
        if self.waiting.len() >= capacity {
            return false;
        }
        self.waiting.push(guest);
        true
    }

    /// Takes a guest out (admitted, denied, or gone).
    pub fn take(&mut self, id: ParticipantId) -> Option<Guest> {
        let index = self.waiting.iter().position(|g| g.id == id)?;
        Some(self.waiting.remove(index))
    }

    /// Takes everyone out.
    pub fn drain(&mut self) -> Vec<Guest> {
        std::mem::take(&mut self.waiting)
    }

    /// Whether `id` waits here.
    pub fn contains(&self, id: ParticipantId) -> bool {
        self.waiting.iter().any(|g| g.id == id)
    }

    /// The list as teachers see it.
    pub fn wire(&self) -> Vec<LobbyEntry> {
        self.waiting
            .iter()
            .map(|g| LobbyEntry {
                id: g.id.to_string(),
                name: g.name.clone(),
                role: g.grant.role,
            })
            .collect()
    }

    /// How many wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True when nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;

    fn guest(id: u64) -> Guest {
        Guest {
            id: ParticipantId(id),
            grant: Grant {
                role: Role::Pupil,
                subject: None,
            },
            name: format!("G{id}"),
            device: None,
        }
    }

    #[test]
    fn the_lobby_is_bounded_and_keeps_its_order() {
        let mut lobby = Lobby::default();
        assert!(lobby.push(guest(1), 2));
        assert!(lobby.push(guest(2), 2));
        assert!(!lobby.push(guest(3), 2));
        assert_eq!(lobby.wire()[1].id, "p2");
        assert!(lobby.take(ParticipantId(1)).is_some());
        assert!(lobby.take(ParticipantId(1)).is_none());
        assert_eq!(lobby.len(), 1);
    }
}
