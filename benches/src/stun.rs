//! A shard's demultiplexer full of participants, and the STUN their peers send, signed with each
//! session's ICE password as a browser signs it.

use std::net::{Ipv4Addr, SocketAddr};

use sfu::demux::Demux;
use sfu::ParticipantId;
use str0m::crypto::{CryptoProvider, Sha1HmacProvider};
use str0m::ice::{StunMessage, TransId};

use crate::init;

/// A STUN binding request with USERNAME `username`, signed with `pass` (MESSAGE-INTEGRITY).
pub fn signed_binding(username: &str, pass: &str) -> Vec<u8> {
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

/// A demultiplexer with `participants` sessions, each of which has been reached by one signed
/// binding request from its own address (so both lookups have `participants` entries).
#[derive(Debug)]
pub struct Crowd {
    pub demux: Demux,
    /// Participant `i`'s address.
    pub addrs: Vec<SocketAddr>,
    /// Participant `i`'s binding request, signed with its password.
    pub stun: Vec<Vec<u8>>,
    /// Participant `i`'s binding request, signed with a wrong password (a forgery).
    pub forged: Vec<Vec<u8>>,
}

impl Crowd {
    pub fn new(participants: usize) -> Crowd {
        init();
        let mut demux = Demux::default();
        let mut addrs = Vec::with_capacity(participants);
        let mut stun = Vec::with_capacity(participants);
        let mut forged = Vec::with_capacity(participants);
        for i in 0..participants {
            // The core's ufrags are 16 and its passwords 24 alphanumerics.
            let ufrag = format!("u{i:015}");
            let pass = format!("p{i:023}");
            assert!(demux.insert_ufrag(&ufrag, &pass, ParticipantId(i as u64 + 1)));
            let username = format!("{ufrag}:browser{i}");
            let [_, _, hi, lo] = (i as u32).to_be_bytes();
            let addr = SocketAddr::from((Ipv4Addr::new(10, 1, hi, lo), 50_000 + (i % 1000) as u16));
            let request = signed_binding(&username, &pass);
            demux.route(addr, &request).expect("signed stun routes");
            addrs.push(addr);
            stun.push(request);
            forged.push(signed_binding(&username, "not-the-password-at-all"));
        }
        assert_eq!(demux.len(), (participants, participants));
        Crowd {
            demux,
            addrs,
            stun,
            forged,
        }
    }
}

/// An SRTP-looking datagram of `len` bytes (only its first bytes matter to the demultiplexer).
pub fn srtp_like(len: usize) -> Vec<u8> {
    let mut datagram = vec![0xab; len];
    datagram[..2].copy_from_slice(&[0x90, 0x60]);
    datagram
}

/// The HMAC-SHA1 of the crypto provider str0m uses (as the demultiplexer picks it).
fn sha1_hmac_provider() -> &'static dyn Sha1HmacProvider {
    match CryptoProvider::get_default() {
        Some(provider) => provider.sha1_hmac_provider,
        None => str0m::crypto::from_feature_flags().sha1_hmac_provider,
    }
}
