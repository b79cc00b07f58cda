//! The lobby: pupils and observers waiting for a teacher to let them in, when the guest policy
//! says to ask. Bounded, so a flood of joins cannot grow it without limit, and bounded per source
//! network, so one link opened many times cannot fill it and keep a real pupil out.

use std::net::IpAddr;

use sfu::ParticipantId;

use crate::protocol::{LobbyEntry, Role};

use super::Grant;

/// Someone waiting, with what they will enter with.
#[derive(Debug, Clone)]
pub struct Guest {
    pub id: ParticipantId,
    pub grant: Grant,
    pub name: String,
    pub device: Option<String>,
    /// Its source network (memory only: never shown, never logged).
    pub from: Option<IpAddr>,
}

/// How many may wait: in all, and from one source network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LobbyLimits {
    pub places: usize,
    pub per_address: usize,
}

/// Why a guest found no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LobbyFull {
    Everyone,
    ThisAddress,
}

/// The waiting list, first come first listed.
#[derive(Debug, Clone, Default)]
pub struct Lobby {
    waiting: Vec<Guest>,
}

impl Lobby {
    /// Adds a guest unless the lobby, or the guest's network's share of it, is full.
    pub fn push(&mut self, guest: Guest, limits: LobbyLimits) -> Result<(), LobbyFull> {
        if self.waiting.len() >= limits.places {
            return Err(LobbyFull::Everyone);
        }
        if let Some(from) = guest.from {
            let same = self.waiting.iter().filter(|g| g.from == Some(from)).count();
            if same >= limits.per_address {
                return Err(LobbyFull::ThisAddress);
            }
        }
        self.waiting.push(guest);
        Ok(())
    }

    /// The role `id` waits to enter with.
    pub fn role_of(&self, id: ParticipantId) -> Option<Role> {
        self.waiting
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.grant.role)
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

    const LIMITS: LobbyLimits = LobbyLimits {
        places: 2,
        per_address: 2,
    };

    fn guest_from(id: u64, from: Option<IpAddr>) -> Guest {
        Guest { from, ..guest(id) }
    }

    fn guest(id: u64) -> Guest {
        Guest {
            id: ParticipantId(id),
            grant: Grant {
                role: Role::Pupil,
                subject: None,
            },
            name: format!("G{id}"),
            device: None,
            from: None,
        }
    }

    #[test]
    fn the_lobby_is_bounded_and_keeps_its_order() {
        let mut lobby = Lobby::default();
        assert_eq!(lobby.push(guest(1), LIMITS), Ok(()));
        assert_eq!(lobby.push(guest(2), LIMITS), Ok(()));
        assert_eq!(lobby.push(guest(3), LIMITS), Err(LobbyFull::Everyone));
        assert_eq!(lobby.wire()[1].id, "p2");
        assert!(lobby.take(ParticipantId(1)).is_some());
        assert!(lobby.take(ParticipantId(1)).is_none());
        assert_eq!(lobby.len(), 1);
    }

    #[test]
    fn one_network_holds_at_most_its_share_and_a_place_comes_back_when_one_leaves() {
        let limits = LobbyLimits {
            places: 5,
            per_address: 2,
        };
        let school: IpAddr = "192.0.2.1".parse().expect("ip");
        let home: IpAddr = "198.51.100.7".parse().expect("ip");
        let mut lobby = Lobby::default();
        assert_eq!(lobby.push(guest_from(1, Some(school)), limits), Ok(()));
        assert_eq!(lobby.push(guest_from(2, Some(school)), limits), Ok(()));
        assert_eq!(
            lobby.push(guest_from(3, Some(school)), limits),
            Err(LobbyFull::ThisAddress)
        );
        assert_eq!(lobby.push(guest_from(4, Some(home)), limits), Ok(()));
        assert!(lobby.take(ParticipantId(1)).is_some());
        assert_eq!(lobby.push(guest_from(5, Some(school)), limits), Ok(()));
        assert_eq!(lobby.role_of(ParticipantId(5)), Some(Role::Pupil));
        assert_eq!(lobby.role_of(ParticipantId(1)), None);
    }
}
