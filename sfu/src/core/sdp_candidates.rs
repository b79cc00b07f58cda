//! The server's ICE candidates, described as for an agent that never trickles.
//!
//! The protocol has no candidate message: the server's answer or offer is the only place a client
//! learns where the shard is. str0m writes SDP for trickle ICE: the candidates only in the first
//! m-section (a rejected one, port 0, when the client stopped its first track), `ice-options:trickle`
//! and no `end-of-candidates`, and `c=IN IP4 0.0.0.0` / port 9, which RFC 8840 reserves for "no
//! candidate yet". Browsers cope; a stack that takes a bundled transport's candidates from the
//! m-section it reads them for, or waits for the end of candidates, never connects.
//!
//! [`describe_every_candidate`] rewrites str0m's text as RFC 8829 (JSEP §5.2.1, §5.3.1) and
//! RFC 8843 describe a complete description: every bundled (port ≠ 0) m-section carries the same
//! candidates followed by `a=end-of-candidates`, its `m=` port and `c=` line name the default
//! candidate (the best UDP one), and no `trickle` option is advertised. Rejected m-sections get no
//! candidates. str0m reads none of this back: it is only what the client is told.

/// The SDP attribute lines this module adds, moves or removes.
const CANDIDATE: &str = "a=candidate:";
const END_OF_CANDIDATES: &str = "a=end-of-candidates";
const ICE_OPTIONS: &str = "a=ice-options:";
const ICE_UFRAG: &str = "a=ice-ufrag:";

/// `sdp` (str0m's answer or offer) with the server's candidates in every bundled m-section, each
/// closed by `a=end-of-candidates`, the default candidate in `m=`/`c=`, and no trickle option.
///
/// SDP without any candidate (an ICE restart that gathers anew, which the server never asks for)
/// is returned as it is: that one really is a trickle description.
pub fn describe_every_candidate(sdp: &str) -> String {
    let lines: Vec<&str> = sdp
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    let mut candidates: Vec<&str> = Vec::new();
    for line in &lines {
        if line.starts_with(CANDIDATE) && !candidates.contains(line) {
            candidates.push(line);
        }
    }
    if candidates.is_empty() {
        return sdp.to_owned();
    }
    let default = default_destination(&candidates);

    // Where the session part ends and each m-section begins.
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("m="))
        .map(|(i, _)| i)
        .collect();
    let copies: usize = candidates.iter().map(|c| c.len() + 2).sum::<usize>() * starts.len();
    let mut out = String::with_capacity(sdp.len() + copies + 24 * starts.len());
    let session_end = starts.first().copied().unwrap_or(lines.len());
    for line in &lines[..session_end] {
        push_kept(&mut out, line);
    }
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        write_section(&mut out, &lines[start..end], &candidates, default.as_ref());
    }
    out
}

/// One m-section (its `m=` line first), rewritten.
fn write_section(
    out: &mut String,
    section: &[&str],
    candidates: &[&str],
    default: Option<&Destination>,
) {
    let rejected = port_of(section[0]) == Some(0);
    let mut placed = rejected;
    for (i, line) in section.iter().enumerate() {
        if line.starts_with(CANDIDATE) || *line == END_OF_CANDIDATES {
            continue;
        }
        // str0m writes the candidates just before the ICE credentials: keep them there.
        if !placed && line.starts_with(ICE_UFRAG) {
            push_candidates(out, candidates);
            placed = true;
        }
        match (i, default) {
            (0, Some(d)) if !rejected => push_line(out, &with_port(line, d.port)),
            (_, Some(d)) if !rejected && line.starts_with("c=") => {
                push_line(out, &format!("c=IN {} {}", d.family, d.address));
            }
            _ => push_kept(out, line),
        }
    }
    if !placed {
        push_candidates(out, candidates);
    }
}

fn push_candidates(out: &mut String, candidates: &[&str]) {
    for candidate in candidates {
        push_line(out, candidate);
    }
    push_line(out, END_OF_CANDIDATES);
}

/// Writes `line` unless it is a trickle option, which loses its `trickle` token (and the whole
/// line when that was the only option).
fn push_kept(out: &mut String, line: &str) {
    let Some(options) = line.strip_prefix(ICE_OPTIONS) else {
        return push_line(out, line);
    };
    let kept: Vec<&str> = options
        .split_whitespace()
        .filter(|o| !o.eq_ignore_ascii_case("trickle"))
        .collect();
    if !kept.is_empty() {
        push_line(out, &format!("{ICE_OPTIONS}{}", kept.join(" ")));
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push_str("\r\n");
}

/// Where media goes when a peer ignores ICE: a candidate's address, in `c=` line terms.
#[derive(Debug, PartialEq)]
struct Destination {
    family: &'static str,
    address: String,
    port: u16,
}

/// The highest-priority UDP candidate of component 1 (RTP, rtcp-mux), if any. A TCP candidate
/// cannot be the default: `m=` says UDP/TLS/RTP/SAVPF.
fn default_destination(candidates: &[&str]) -> Option<Destination> {
    candidates
        .iter()
        .filter_map(|line| {
            // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ …
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, component, transport, priority, address, port, ..] = fields[..] else {
                return None;
            };
            if component != "1" || !transport.eq_ignore_ascii_case("udp") {
                return None;
            }
            let priority: u32 = priority.parse().ok()?;
            let ip: std::net::IpAddr = address.parse().ok()?;
            let destination = Destination {
                family: if ip.is_ipv4() { "IP4" } else { "IP6" },
                address: ip.to_string(),
                port: port.parse().ok()?,
            };
            Some((priority, destination))
        })
        .max_by_key(|(priority, _)| *priority)
        .map(|(_, destination)| destination)
}

/// The port of an `m=` line (`m=<media> <port> <proto> …`).
fn port_of(m_line: &str) -> Option<u16> {
    m_line.split_whitespace().nth(1)?.parse().ok()
}

/// `m_line` with its port replaced.
fn with_port(m_line: &str, port: u16) -> String {
    let mut fields: Vec<String> = m_line.split(' ').map(str::to_owned).collect();
    if let Some(field) = fields.get_mut(1) {
        *field = port.to_string();
    }
    fields.join(" ")
}

#[cfg(test)]
#[path = "sdp_candidates_tests.rs"]
mod tests;
