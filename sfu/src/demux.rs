//! Which participant a datagram belongs to, without scanning every session.
//!
//! A STUN binding request names the session in its USERNAME ("our-ufrag:their-ufrag"), and every
//! participant gets its own ufrag. The source address of a STUN request is then remembered, so DTLS,
//! SRTP and SRTCP datagrams (which carry no such name) are found by their 4-tuple. Both lookups are
//! one hash probe. An address is learnt only from STUN whose MESSAGE-INTEGRITY was made with the
//! session's ICE password: the ufrag travels in clear, so it proves nothing on its own.
//!
//! ICE-TCP frames are routed the same way; an address is remembered with its transport, since a
//! UDP and a TCP peer may share an IP and port number.

use std::collections::HashMap;
use std::net::SocketAddr;

use str0m::crypto::{CryptoProvider, Sha1HmacProvider};
use str0m::ice::StunMessage;
use str0m::net::Protocol;

use crate::ids::ParticipantId;

/// How many source addresses one participant may hold (ICE may try a few before nominating one).
/// Keeps a peer that sprays STUN from many ports from growing the map without bound.
const MAX_ADDRS_PER_PARTICIPANT: usize = 8;

/// The routing table of one shard's socket.
#[derive(Debug, Default)]
pub struct Demux {
    /// Our ufrag of each session → the session and our ICE password (the key of its STUN).
    by_ufrag: HashMap<String, (ParticipantId, String)>,
    by_addr: HashMap<Path, ParticipantId>,
    addrs_of: HashMap<ParticipantId, Vec<Path>>,
}

/// Where a packet came from: its transport and the peer's address.
type Path = (Protocol, SocketAddr);

/// Why a datagram found no participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// STUN whose username names no session here.
    UnknownUfrag,
    /// STUN that does not parse, has no username, or fails its integrity check.
    BadStun,
    /// Not STUN, from an address no session has used.
    UnknownSource,
}

impl Demux {
    /// Routes STUN with `ufrag`, signed with `pass`, to `participant` from now on. Returns false if
    /// the ufrag is taken.
    pub fn insert_ufrag(&mut self, ufrag: &str, pass: &str, participant: ParticipantId) -> bool {
        if self.by_ufrag.contains_key(ufrag) {
            return false;
        }
        self.by_ufrag
            .insert(ufrag.to_owned(), (participant, pass.to_owned()));
        self.addrs_of.entry(participant).or_default();
        true
    }

    /// Routes `participant`'s STUN under a new ufrag/password (after an ICE restart), forgetting
    /// its old ones. Addresses it used stay routed until STUN under the new ufrag moves them.
    /// Does nothing if the ufrag is already the participant's.
    pub fn replace_ufrag(&mut self, ufrag: &str, pass: &str, participant: ParticipantId) {
        if let Some((owner, known)) = self.by_ufrag.get(ufrag) {
            if *owner == participant && known == pass {
                return;
            }
            if *owner != participant {
                // Another session's ufrag: never steal its routing (str0m's random ufrags make
                // this practically impossible; refusing keeps it impossible).
                return;
            }
        }
        self.by_ufrag.retain(|_, (p, _)| *p != participant);
        self.by_ufrag
            .insert(ufrag.to_owned(), (participant, pass.to_owned()));
        self.addrs_of.entry(participant).or_default();
    }

    /// Whether `ufrag` is in use.
    pub fn has_ufrag(&self, ufrag: &str) -> bool {
        self.by_ufrag.contains_key(ufrag)
    }

    /// Finds the participant a UDP datagram from `source` belongs to, learning the address from
    /// STUN.
    pub fn route(&mut self, source: SocketAddr, datagram: &[u8]) -> Result<ParticipantId, Miss> {
        self.route_via(Protocol::Udp, source, datagram)
    }

    /// Like [`Demux::route`], for a packet that came over `proto` (a UDP datagram or a TCP frame).
    pub fn route_via(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<ParticipantId, Miss> {
        let path = (proto, source);
        if !is_stun(datagram) {
            return self.by_addr.get(&path).copied().ok_or(Miss::UnknownSource);
        }
        let stun = StunMessage::parse(datagram).map_err(|_| Miss::BadStun)?;
        let (ours, _theirs) = stun.split_username().ok_or(Miss::BadStun)?;
        let (participant, pass) = self.by_ufrag.get(ours).ok_or(Miss::UnknownUfrag)?;
        let participant = *participant;
        let hmac = sha1_hmac_provider();
        if !stun.verify(pass.as_bytes(), |key, parts| hmac.sha1_hmac(key, parts)) {
            return Err(Miss::BadStun);
        }
        self.learn(path, participant);
        Ok(participant)
    }

    /// Whether packets from `source` over `proto` reach a session (a signed STUN request taught
    /// the address, and the session still holds it).
    pub fn knows(&self, proto: Protocol, source: SocketAddr) -> bool {
        self.by_addr.contains_key(&(proto, source))
    }

    /// The participant whose session holds `source` over `proto`, without learning anything.
    pub fn participant_at(&self, proto: Protocol, source: SocketAddr) -> Option<ParticipantId> {
        self.by_addr.get(&(proto, source)).copied()
    }

    /// Forgets everything about `participant`.
    pub fn remove(&mut self, participant: ParticipantId) {
        self.by_ufrag.retain(|_, (p, _)| *p != participant);
        for addr in self.addrs_of.remove(&participant).unwrap_or_default() {
            if self.by_addr.get(&addr) == Some(&participant) {
                self.by_addr.remove(&addr);
            }
        }
    }

    /// Entries held, for the leak checks: (ufrags, addresses).
    pub fn len(&self) -> (usize, usize) {
        (self.by_ufrag.len(), self.by_addr.len())
    }

    /// True when nothing is routed.
    pub fn is_empty(&self) -> bool {
        self.by_ufrag.is_empty() && self.by_addr.is_empty() && self.addrs_of.is_empty()
    }

    fn learn(&mut self, source: Path, participant: ParticipantId) {
        match self.by_addr.insert(source, participant) {
            Some(previous) if previous == participant => return,
            Some(previous) => {
                // The address moved to another session (a port reused after a reconnect).
                if let Some(list) = self.addrs_of.get_mut(&previous) {
                    list.retain(|a| *a != source);
                }
            }
            None => {}
        }
        let list = self.addrs_of.entry(participant).or_default();
        list.push(source);
        if list.len() > MAX_ADDRS_PER_PARTICIPANT {
            let oldest = list.remove(0);
            self.by_addr.remove(&oldest);
        }
    }
}

/// The HMAC-SHA1 of the crypto provider str0m uses.
fn sha1_hmac_provider() -> &'static dyn Sha1HmacProvider {
    match CryptoProvider::get_default() {
        Some(provider) => provider.sha1_hmac_provider,
        None => str0m::crypto::from_feature_flags().sha1_hmac_provider,
    }
}

/// RFC 7983 demultiplexing: STUN starts with 0 or 1 and is at least a header long.
fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[0] < 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::ice::{StunMessage, TransId};

    const PASS: &str = "password";

    fn binding(username: &str) -> Vec<u8> {
        signed_binding(username, PASS)
    }

    fn signed_binding(username: &str, pass: &str) -> Vec<u8> {
        let msg = StunMessage::binding_request(username, TransId::new(), true, 0, 1, false);
        let mut buf = vec![0u8; 1500];
        let hmac = sha1_hmac_provider();
        let n = msg
            .to_bytes(Some(pass.as_bytes()), &mut buf, |key, parts| {
                hmac.sha1_hmac(key, parts)
            })
            .expect("serialize stun");
        buf.truncate(n);
        buf
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn stun_routes_by_ufrag_then_media_by_address() {
        let mut demux = Demux::default();
        assert!(demux.insert_ufrag("abc", PASS, ParticipantId(1)));
        assert!(demux.insert_ufrag("def", PASS, ParticipantId(2)));
        assert_eq!(
            demux.route(addr(5000), &[0x80, 0x60, 0, 1]),
            Err(Miss::UnknownSource)
        );
        assert_eq!(
            demux.route(addr(5000), &binding("def:client")),
            Ok(ParticipantId(2))
        );
        assert_eq!(
            demux.route(addr(5000), &[0x80, 0x60, 0, 1]),
            Ok(ParticipantId(2))
        );
        assert_eq!(
            demux.route(addr(5001), &binding("zzz:client")),
            Err(Miss::UnknownUfrag)
        );
    }

    #[test]
    fn an_ice_restart_moves_routing_to_the_new_ufrag() {
        let mut demux = Demux::default();
        demux.insert_ufrag("old", PASS, ParticipantId(1));
        demux.insert_ufrag("other", PASS, ParticipantId(2));
        demux.replace_ufrag("new", "newpass", ParticipantId(1));
        assert_eq!(
            demux.route(addr(5000), &binding("old:x")),
            Err(Miss::UnknownUfrag)
        );
        assert_eq!(
            demux.route(addr(5000), &signed_binding("new:x", "newpass")),
            Ok(ParticipantId(1))
        );
        demux.replace_ufrag("other", PASS, ParticipantId(1));
        assert_eq!(
            demux.route(addr(5001), &binding("other:x")),
            Ok(ParticipantId(2)),
            "another session's ufrag is never taken over"
        );
    }

    #[test]
    fn an_address_is_learnt_with_its_transport() {
        let mut demux = Demux::default();
        demux.insert_ufrag("abc", PASS, ParticipantId(1));
        assert_eq!(
            demux.route_via(Protocol::Tcp, addr(5000), &binding("abc:x")),
            Ok(ParticipantId(1))
        );
        assert!(demux.knows(Protocol::Tcp, addr(5000)));
        assert!(!demux.knows(Protocol::Udp, addr(5000)));
        assert_eq!(
            demux.route(addr(5000), &[0x80, 0x60, 0, 1]),
            Err(Miss::UnknownSource),
            "a UDP datagram from the same IP and port is someone else's"
        );
        assert_eq!(
            demux.route_via(Protocol::Tcp, addr(5000), &[0x80, 0x60, 0, 1]),
            Ok(ParticipantId(1))
        );
    }

    #[test]
    fn duplicate_ufrag_is_refused() {
        let mut demux = Demux::default();
        assert!(demux.insert_ufrag("abc", PASS, ParticipantId(1)));
        assert!(!demux.insert_ufrag("abc", PASS, ParticipantId(2)));
    }

    #[test]
    fn remove_forgets_ufrag_and_addresses() {
        let mut demux = Demux::default();
        demux.insert_ufrag("abc", PASS, ParticipantId(1));
        demux.route(addr(6000), &binding("abc:x")).expect("routed");
        demux.remove(ParticipantId(1));
        assert!(demux.is_empty());
        assert_eq!(
            demux.route(addr(6000), &[0x80, 0x60, 0, 1]),
            Err(Miss::UnknownSource)
        );
    }

    #[test]
    fn a_peer_spraying_ports_holds_a_bounded_number_of_addresses() {
        let mut demux = Demux::default();
        demux.insert_ufrag("abc", PASS, ParticipantId(1));
        for port in 0..1000 {
            demux
                .route(addr(10_000 + port), &binding("abc:x"))
                .expect("routed");
        }
        assert_eq!(demux.len(), (1, MAX_ADDRS_PER_PARTICIPANT));
    }

    #[test]
    fn garbage_is_a_miss_not_a_panic() {
        let mut demux = Demux::default();
        for junk in [&[][..], &[0u8; 19][..], &[1u8; 40][..], &[0xff; 3][..]] {
            assert!(demux.route(addr(1), junk).is_err());
        }
    }

    #[test]
    fn stun_not_signed_with_the_session_password_teaches_no_address() {
        let mut demux = Demux::default();
        demux.insert_ufrag("abc", PASS, ParticipantId(1));
        let forged = signed_binding("abc:x", "guessed");
        assert_eq!(demux.route(addr(7000), &forged), Err(Miss::BadStun));
        assert_eq!(
            demux.route(addr(7000), &[0x80, 0x60, 0, 1]),
            Err(Miss::UnknownSource)
        );
        assert_eq!(demux.len(), (1, 0));
    }
}
