//! How many connections the node holds: at most `max_connections_per_address` from one address
//! and `max_connections` in all, so that one machine (or a few) cannot take every file descriptor
//! and make the node unreachable for everyone.
//!
//! A connection over a cap is not simply dropped: it is answered (`/healthz` still says `ok`, so
//! monitoring sees the node alive; anything else gets a clear 429 or 503) from a small room kept
//! for refusals, within the header timeout. Only when that room is full too is it closed at once.
//! The open file limit is raised at start, and the global cap is lowered to fit under it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::counters::LimitCounters;

/// Connections over a cap that may be answered at the same time; past it they are closed unread.
pub const REFUSAL_ROOM: usize = 64;

/// Places of the refusal room one address may hold, so that one machine flooding the node
/// cannot take them all and keep a monitoring probe from another from its `/healthz`.
pub const REFUSALS_PER_ADDRESS: usize = 4;

/// How long a refused connection has to send its request: short, as the room is small.
pub const REFUSAL_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// File descriptors the node needs besides its HTTP connections (media sockets, the listener,
/// the runtime, logs), kept free when the global cap is fitted under the open file limit.
pub const FILES_KEPT_FREE: u64 = 128;

/// Whom the per-address cap counts together: an IPv4 address, or an IPv6 /64 (one household or
/// machine usually holds a whole /64, so counting single IPv6 addresses would cap nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl AddressKey {
    pub fn of(ip: IpAddr) -> AddressKey {
        match ip {
            IpAddr::V4(v4) => AddressKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(v4.octets()),
                None => {
                    let o = v6.octets();
                    AddressKey::V6Prefix([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]])
                }
            },
        }
    }
}

/// Counts the node's connections and decides who gets in.
#[derive(Debug)]
pub struct ConnectionGate {
    state: Mutex<GateState>,
    per_address: usize,
    max_total: usize,
    counters: Arc<LimitCounters>,
}

#[derive(Debug, Default)]
struct GateState {
    by_address: HashMap<AddressKey, usize>,
    total: usize,
    refusing: usize,
    refusing_by_address: HashMap<AddressKey, usize>,
}

/// What to do with a new connection.
#[derive(Debug)]
pub enum Admission {
    /// Serve it; it counts until the last clone of the slot is dropped (a WebSocket session
    /// keeps one after the HTTP connection has handed its socket over).
    Admitted(ConnectionSlot),
    /// Answer it with a refusal (and `/healthz`), then close it.
    Refused(Refusal, RefusalSlot),
    /// Close it at once: too many refusals are being answered already.
    Shed,
}

/// Which cap a refused connection hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerAddress,
    NodeFull,
}

/// A counted connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<Slot>);

#[derive(Debug)]
struct Slot {
    gate: Arc<ConnectionGate>,
    key: AddressKey,
}

/// A connection being refused, counted in the refusal room.
#[derive(Debug)]
pub struct RefusalSlot {
    gate: Arc<ConnectionGate>,
    key: AddressKey,
}

impl ConnectionGate {
    pub fn new(per_address: usize, max_total: usize, counters: Arc<LimitCounters>) -> Self {
        ConnectionGate {
            state: Mutex::new(GateState::default()),
            per_address: per_address.max(1),
            max_total: max_total.max(1),
            counters,
        }
    }

    /// The global cap in force.
    pub fn max_total(&self) -> usize {
        self.max_total
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // Counts are updated in single steps: a poisoned lock still holds whole numbers.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection from `ip`, or says how to refuse it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Admission {
        let key = AddressKey::of(ip);
        let mut state = self.lock();
        let from_address = state.by_address.get(&key).copied().unwrap_or(0);
        let refusal = if state.total >= self.max_total {
            Some(Refusal::NodeFull)
        } else if from_address >= self.per_address {
            Some(Refusal::PerAddress)
        } else {
            None
        };
        let Some(refusal) = refusal else {
            state.total += 1;
            state.by_address.insert(key, from_address + 1);
            drop(state);
            self.counters.connections_open.add(1);
            return Admission::Admitted(ConnectionSlot(Arc::new(Slot {
                gate: self.clone(),
                key,
            })));
        };
        match refusal {
            Refusal::PerAddress => self.counters.refused_per_address.add(),
            Refusal::NodeFull => self.counters.refused_node_full.add(),
        }
        let refusing_here = state.refusing_by_address.get(&key).copied().unwrap_or(0);
        if state.refusing >= REFUSAL_ROOM || refusing_here >= REFUSALS_PER_ADDRESS {
            drop(state);
            self.counters.shed.add();
            return Admission::Shed;
        }
        state.refusing += 1;
        state.refusing_by_address.insert(key, refusing_here + 1);
        drop(state);
        self.counters.connections_open.add(1);
        Admission::Refused(
            refusal,
            RefusalSlot {
                gate: self.clone(),
                key,
            },
        )
    }

    /// Connections counted now (refusals being answered not included).
    pub fn open(&self) -> usize {
        self.lock().total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(n) = state.by_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                // Addresses come and go: an entry per address ever seen would grow forever.
                state.by_address.remove(&self.key);
            }
        }
        drop(state);
        self.gate.counters.connections_open.sub(1);
    }
}

impl Drop for RefusalSlot {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.refusing = state.refusing.saturating_sub(1);
        if let Some(n) = state.refusing_by_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                state.refusing_by_address.remove(&self.key);
            }
        }
        drop(state);
        self.gate.counters.connections_open.sub(1);
    }
}

/// Raises the soft open file limit to the hard one (a service manager often leaves it at 1,024
/// while allowing far more), and returns the soft limit now in force. `None` where the limit
/// cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    // An unlimited hard limit is not a number to ask for: a million is far past any need here.
    let wanted = if hard == RLIM_INFINITY { 1 << 20 } else { hard };
    if soft < wanted && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_ok() {
        return Some(wanted);
    }
    Some(soft)
}

/// The soft open file limit in force, if it can be read.
pub fn open_file_limit() -> Option<u64> {
    let (soft, _) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()?;
    Some(soft)
}

/// The global connection cap that fits under `file_limit`: connections, refusals being answered,
/// and the files the rest of the node needs.
pub fn fit_under_file_limit(configured: usize, file_limit: Option<u64>) -> usize {
    let Some(limit) = file_limit else {
        return configured;
    };
    let room = limit.saturating_sub(FILES_KEPT_FREE + REFUSAL_ROOM as u64);
    configured
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(per_address: usize, total: usize) -> Arc<ConnectionGate> {
        Arc::new(ConnectionGate::new(
            per_address,
            total,
            Arc::new(LimitCounters::default()),
        ))
    }

    fn admitted(a: Admission) -> ConnectionSlot {
        match a {
            Admission::Admitted(slot) => slot,
            other => panic!("expected admitted, got {other:?}"),
        }
    }

    #[test]
    fn one_address_is_capped_and_others_still_get_in() {
        let gate = gate(2, 10);
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        let first = admitted(gate.admit(a));
        let _second = admitted(gate.admit(a));
        assert!(matches!(
            gate.admit(a),
            Admission::Refused(Refusal::PerAddress, _)
        ));
        let _other = admitted(gate.admit(b));
        drop(first);
        let _again = admitted(gate.admit(a));
        assert_eq!(gate.open(), 3);
    }

    #[test]
    fn a_slot_counts_until_its_last_clone_is_dropped() {
        let gate = gate(1, 10);
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let slot = admitted(gate.admit(ip));
        let kept_by_the_session = slot.clone();
        drop(slot);
        assert!(matches!(gate.admit(ip), Admission::Refused(..)));
        drop(kept_by_the_session);
        assert_eq!(gate.open(), 0);
        let _slot = admitted(gate.admit(ip));
    }

    #[test]
    fn an_ipv6_64_counts_as_one_address() {
        let gate = gate(1, 10);
        let _a = admitted(gate.admit("2001:db8:1:2::1".parse().expect("ip")));
        assert!(matches!(
            gate.admit("2001:db8:1:2:ffff::9".parse().expect("ip")),
            Admission::Refused(Refusal::PerAddress, _)
        ));
        let _b = admitted(gate.admit("2001:db8:1:3::1".parse().expect("ip")));
        // An IPv4-mapped address is its IPv4 address.
        let _c = admitted(gate.admit("10.0.0.1".parse().expect("ip")));
        assert!(matches!(
            gate.admit("::ffff:10.0.0.1".parse().expect("ip")),
            Admission::Refused(Refusal::PerAddress, _)
        ));
    }

    #[test]
    fn past_the_node_cap_refusals_are_answered_then_shed() {
        let gate = gate(1000, 2);
        let ip = |i: usize| IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
        let _slots = [admitted(gate.admit(ip(0))), admitted(gate.admit(ip(0)))];
        let refusals: Vec<_> = (0..REFUSAL_ROOM)
            .map(|i| match gate.admit(ip(i)) {
                Admission::Refused(Refusal::NodeFull, slot) => slot,
                other => panic!("expected a refusal, got {other:?}"),
            })
            .collect();
        assert!(matches!(gate.admit(ip(9999)), Admission::Shed));
        drop(refusals);
        assert!(matches!(gate.admit(ip(9999)), Admission::Refused(..)));
    }

    #[test]
    fn one_address_holds_few_places_of_the_refusal_room() {
        let gate = gate(1, 1000);
        let flooder: IpAddr = "10.0.0.1".parse().expect("ip");
        let _slot = admitted(gate.admit(flooder));
        let held: Vec<_> = (0..REFUSALS_PER_ADDRESS)
            .map(|_| gate.admit(flooder))
            .collect();
        assert!(held.iter().all(|a| matches!(a, Admission::Refused(..))));
        assert!(matches!(gate.admit(flooder), Admission::Shed));
        let _probe = admitted(gate.admit("10.0.0.2".parse().expect("ip")));
    }

    #[test]
    fn the_cap_fits_under_the_file_limit() {
        assert_eq!(fit_under_file_limit(10_000, Some(1024)), 1024 - 128 - 64);
        assert_eq!(fit_under_file_limit(500, Some(1 << 20)), 500);
        assert_eq!(fit_under_file_limit(500, None), 500);
        assert_eq!(fit_under_file_limit(500, Some(10)), 1);
    }
}
