//! Receive-only roles: an observer's offer may not publish anything.
//!
//! Checked on the SDP the client sends, failing closed: every media section must say `inactive`
//! or `recvonly` (itself or at session level), because a section with no direction attribute is
//! `sendrecv` by default (RFC 8866 §6.7).

/// True when some media section of `sdp` would send media to the server.
pub fn offer_publishes(sdp: &str) -> bool {
    let mut session_direction = None;
    let mut sections: Vec<Option<&str>> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            sections.push(None);
            continue;
        }
        let direction = match line {
            "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive" => &line[2..],
            _ => continue,
        };
        match sections.last_mut() {
            Some(section) => *section = Some(direction),
            None => session_direction = Some(direction),
        }
    }
    sections.iter().any(|section| {
        let direction = section.or(session_direction).unwrap_or("sendrecv");
        !matches!(direction, "inactive" | "recvonly")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inactive_or_recvonly_sections_are_receive_only() {
        let offer = |a: &str, v: &str| {
            format!("v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{a}\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n{v}\r\n")
        };
        assert!(!offer_publishes(&offer("a=inactive", "a=recvonly")));
        assert!(offer_publishes(&offer("a=inactive", "a=sendonly")));
        assert!(offer_publishes(&offer("a=sendrecv", "a=inactive")));
        assert!(
            offer_publishes(&offer("a=mid:0", "a=inactive")),
            "no direction: sendrecv"
        );
        let session_level = "v=0\r\na=inactive\r\nm=audio 9 RTP/SAVPF 111\r\na=mid:0\r\n";
        assert!(!offer_publishes(session_level));
        assert!(!offer_publishes("v=0\r\n"), "no media at all");
    }
}
