//! A guard on what Janus tells our ICE agents: only loopback candidates are kept, so no check
//! ever leaves this machine whatever interfaces Janus was able to see.

use std::net::IpAddr;

/// `sdp` without the `a=candidate` lines whose address is not loopback.
pub fn loopback_candidates_only(sdp: &str) -> String {
    let mut kept = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if let Some(candidate) = line.trim_end().strip_prefix("a=candidate:") {
            if !is_loopback_candidate(candidate) {
                continue;
            }
        }
        kept.push_str(line);
    }
    kept
}

/// RFC 8839: foundation, component, transport, priority, address, port, `typ`, type, ….
fn is_loopback_candidate(candidate: &str) -> bool {
    candidate
        .split_whitespace()
        .nth(4)
        .and_then(|address| address.parse::<IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_candidates_survive() {
        let sdp = "v=0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=candidate:1 1 udp 2015363327 127.0.0.1 20123 typ host\r\n\
                   a=candidate:2 1 udp 2015363326 192.0.2.2 20124 typ host\r\n\
                   a=candidate:3 1 udp 2015363325 ::1 20125 typ host\r\n\
                   a=candidate:4 1 udp 1 host.local 20126 typ host\r\n\
                   a=end-of-candidates\r\n";
        let kept = loopback_candidates_only(sdp);
        assert!(kept.contains("127.0.0.1 20123"));
        assert!(kept.contains("::1 20125"));
        assert!(!kept.contains("192.0.2.2"));
        assert!(!kept.contains("host.local"));
        assert!(kept.starts_with("v=0\r\nm=audio"));
        assert!(kept.ends_with("a=end-of-candidates\r\n"));
    }
}
