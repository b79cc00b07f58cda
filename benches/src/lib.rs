//! Fixtures shared by the benchmarks and the allocation test: a class on one sans-IO
//! [`ShardCore`](sfu::core::ShardCore) with real str0m peers on a simulated network ([`room`]),
//! signed STUN for the demultiplexer ([`stun`]), and a core crowded with idle sessions ([`idle`]).
//! No sockets, no threads: the clock is simulated and moves only when a fixture moves it.

pub mod idle;
mod peer;
pub mod room;
pub mod stun;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Once;

pub use room::{Frame, Room};

/// The shard's socket, as advertised in its ICE candidate.
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);

/// Installs the aws-lc-rs provider once, as the server binary does, so every `Rtc` shares it.
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A no-op if some provider is installed already, which is just as good.
        str0m::crypto::from_feature_flags().install_process_default();
    });
}

/// Whether a datagram is (S)RTP media, by RFC 7983 and RFC 5761: first byte 128..=191, and a
/// second byte that is no RTCP packet type (192..=223).
pub fn is_rtp(datagram: &[u8]) -> bool {
    match datagram {
        [first, second, ..] => (128..=191).contains(first) && !(192..=223).contains(second),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_rtp;

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 0x60, 0, 1]));
        assert!(is_rtp(&[0x90, 0xe0, 0, 1]));
        assert!(!is_rtp(&[0x80, 0xc8, 0, 6])); // sender report
        assert!(!is_rtp(&[0x81, 0xcd, 0, 3])); // generic NACK
        assert!(!is_rtp(&[0x00, 0x01, 0, 0])); // STUN binding request
        assert!(!is_rtp(&[0x17, 0xfe, 0xfd])); // DTLS application data
        assert!(!is_rtp(&[0x80]));
    }
}
