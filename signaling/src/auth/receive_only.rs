//! Receive-only roles: an observer's SDP may not publish anything, in an offer or in an answer
//! (an answer can turn an m-line the server offered into one that sends).
//!
//! Checked on the SDP the client sends, failing closed: every media section must say `inactive`
//! or `recvonly` (itself or at session level), because a section with no direction attribute is
//! `sendrecv` by default (RFC 8866 §6.7).

use crate::offer_check::sections;

/// True when some media section of `sdp` (an offer or an answer) would send media to the server.
pub fn publishes(sdp: &str) -> bool {
    sections(sdp).iter().any(|section| section.sends)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inactive_or_recvonly_sections_are_receive_only() {
        let offer = |a: &str, v: &str| {
            format!("v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{a}\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n{v}\r\n")
        };
        assert!(!publishes(&offer("a=inactive", "a=recvonly")));
        assert!(publishes(&offer("a=inactive", "a=sendonly")));
        assert!(publishes(&offer("a=sendrecv", "a=inactive")));
        assert!(
            publishes(&offer("a=mid:0", "a=inactive")),
            "no direction: sendrecv"
        );
        let session_level = "v=0\r\na=inactive\r\nm=audio 9 RTP/SAVPF 111\r\na=mid:0\r\n";
        assert!(!publishes(session_level));
        // str0m reads the first direction; a second one that sends still counts.
        assert!(publishes(&offer("a=recvonly\r\na=sendonly", "a=inactive")));
        assert!(
            publishes(&offer("a=RECVONLY", "a=inactive")),
            "str0m does not read it: no direction"
        );
        assert!(!publishes("v=0\r\n"), "no media at all");
    }
}
