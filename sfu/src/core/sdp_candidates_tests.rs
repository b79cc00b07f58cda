//! The rewrite on what str0m really writes: a server `Rtc` set up as `commands.rs` sets it up (ICE
//! lite, our codecs, UDP and TCP host candidates) answering a full-ICE client `Rtc`, and offering
//! it tracks, rejecting and releasing m-sections along the way.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::TcpType;
use str0m::{Candidate, Rtc};

use super::*;
use crate::core::codecs;

const UDP: &str = "127.0.0.1:50000";
const TCP: &str = "127.0.0.1:50100";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// A shard-side `Rtc` with the given host candidates.
fn server(candidates: &[Candidate]) -> Rtc {
    let mut rtc = codecs::rtc_config()
        .set_ice_lite(true)
        .build(Instant::now());
    for candidate in candidates {
        rtc.add_local_candidate(candidate.clone());
    }
    rtc
}

fn udp(a: &str) -> Candidate {
    Candidate::host(addr(a), "udp").expect("udp host candidate")
}

fn tcp_passive(a: &str) -> Candidate {
    Candidate::builder()
        .tcp()
        .host(addr(a))
        .tcptype(TcpType::Passive)
        .build()
        .expect("tcp host candidate")
}

/// A browser-like client offering one audio and one video m-section.
fn client() -> (Rtc, SdpOffer, SdpPendingOffer, Mid, Mid) {
    let mut rtc = codecs::rtc_config().build(Instant::now());
    rtc.add_local_candidate(udp("127.0.0.1:40000"));
    let mut api = rtc.sdp_api();
    let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().expect("an offer");
    (rtc, offer, pending, audio, video)
}

/// The m-sections of `sdp`, each as its lines (the `m=` line first).
fn sections(sdp: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in sdp.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with("m=") {
            out.push(vec![line]);
        } else if let Some(section) = out.last_mut() {
            section.push(line);
        }
    }
    out
}

fn candidates_in<'a>(section: &[&'a str]) -> Vec<&'a str> {
    section
        .iter()
        .filter(|l| l.starts_with(CANDIDATE))
        .copied()
        .collect()
}

fn port(section: &[&str]) -> Option<u16> {
    port_of(section[0])
}

/// Every accepted m-section carries exactly `expected` candidates and then `end-of-candidates`,
/// names `default` in its `m=`/`c=` lines; rejected ones carry nothing; no trickle anywhere.
fn assert_complete(sdp: &str, expected: usize, default: SocketAddr) {
    assert!(!sdp.contains("trickle"), "no trickle option:\n{sdp}");
    let all = sections(sdp);
    let first: Vec<&str> = all
        .iter()
        .find(|s| port(s) != Some(0))
        .map(|s| candidates_in(s))
        .expect("an accepted m-section");
    assert_eq!(first.len(), expected, "{sdp}");
    for section in &all {
        if port(section) == Some(0) {
            assert!(candidates_in(section).is_empty(), "rejected: {section:?}");
            assert!(!section.contains(&END_OF_CANDIDATES), "{section:?}");
            continue;
        }
        assert_eq!(
            candidates_in(section),
            first,
            "same candidates: {section:?}"
        );
        let last_candidate = section.iter().rposition(|l| l.starts_with(CANDIDATE));
        let end = section.iter().position(|l| *l == END_OF_CANDIDATES);
        assert_eq!(end, last_candidate.map(|i| i + 1), "{section:?}");
        assert_eq!(port(section), Some(default.port()), "{section:?}");
        let family = if default.is_ipv4() { "IP4" } else { "IP6" };
        let c_line = format!("c=IN {family} {}", default.ip());
        assert!(section.contains(&c_line.as_str()), "{section:?}");
    }
}

/// What str0m's own parser makes of the rewritten SDP (both sides must still read it).
fn reparse_answer(sdp: &str) -> SdpAnswer {
    SdpAnswer::from_sdp_string(sdp).expect("str0m reads the rewritten answer")
}

#[test]
fn str0m_alone_puts_the_candidates_in_the_first_m_section_only() {
    // What this module is for; if str0m changes, the rewrite may no longer be needed.
    let (_client, offer, _, _, _) = client();
    let mut server = server(&[udp(UDP)]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    let sdp = answer.to_sdp_string();
    let all = sections(&sdp);
    assert_eq!(candidates_in(&all[0]).len(), 1);
    assert!(candidates_in(&all[1]).is_empty());
    assert!(sdp.contains("a=ice-options:trickle"));
    assert!(!sdp.contains(END_OF_CANDIDATES));
}

#[test]
fn an_answer_carries_every_candidate_in_every_m_section() {
    let (mut client, offer, pending, _, _) = client();
    let mut server = server(&[udp(UDP), tcp_passive(TCP)]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    let sdp = describe_every_candidate(&answer.to_sdp_string());
    assert_complete(&sdp, 2, addr(UDP));
    assert!(sdp.contains(" tcptype passive"), "{sdp}");
    client
        .sdp_api()
        .accept_answer(pending, reparse_answer(&sdp))
        .expect("the client's str0m accepts the rewritten answer");
}

#[test]
fn the_servers_offers_carry_them_too_and_its_answers_are_accepted() {
    let (mut client, offer, pending, _, _) = client();
    let mut server = server(&[udp(UDP)]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    client
        .sdp_api()
        .accept_answer(pending, reparse_answer(&answer.to_sdp_string()))
        .expect("first answer");

    // Two subscriptions, as `Participant::negotiate` opens them.
    let mut api = server.sdp_api();
    let audio = api.add_media(
        MediaKind::Audio,
        Direction::SendOnly,
        Some("p1".into()),
        None,
        None,
    );
    api.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        Some("p1".into()),
        None,
        None,
    );
    let (offer, pending) = api.apply().expect("server offer");
    let sdp = describe_every_candidate(&offer.to_sdp_string());
    assert_eq!(sections(&sdp).len(), 4);
    assert_complete(&sdp, 1, addr(UDP));

    let offer = SdpOffer::from_sdp_string(&sdp).expect("str0m reads the rewritten offer");
    let answer = client
        .sdp_api()
        .accept_offer(offer)
        .expect("client answers");
    server
        .sdp_api()
        .accept_answer(pending, answer)
        .expect("the server takes the client's answer to a rewritten offer");

    // A released subscription stays in the bundle, inactive, and keeps the candidates.
    let mut api = server.sdp_api();
    api.set_direction(audio, Direction::Inactive);
    let (offer, _) = api.apply().expect("server offer");
    let sdp = describe_every_candidate(&offer.to_sdp_string());
    assert!(sdp.contains("a=inactive"), "{sdp}");
    assert_complete(&sdp, 1, addr(UDP));
}

#[test]
fn a_rejected_first_m_section_carries_none_and_the_bundle_gets_them() {
    let (mut client, offer, pending, audio, _) = client();
    let mut server = server(&[udp(UDP), tcp_passive(TCP)]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    client
        .sdp_api()
        .accept_answer(pending, answer)
        .expect("first answer");
    // The client stops its first track: the m-section is rejected (port 0) from now on.
    let mut api = client.sdp_api();
    api.stop_media(audio);
    let (offer, _) = api.apply().expect("client re-offers");
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    let raw = answer.to_sdp_string();
    let all = sections(&raw);
    assert_eq!(port(&all[0]), Some(0), "{raw}");
    // str0m left the bundle without a single candidate.
    assert!(
        all[1..].iter().all(|s| candidates_in(s).is_empty()),
        "{raw}"
    );

    let sdp = describe_every_candidate(&raw);
    assert_complete(&sdp, 2, addr(UDP));
    reparse_answer(&sdp);
}

#[test]
fn an_ipv6_default_gets_an_ip6_connection_line() {
    let (_client, offer, _, _, _) = client();
    let mut server = server(&[tcp_passive(TCP), udp("[::1]:50002")]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    let sdp = describe_every_candidate(&answer.to_sdp_string());
    assert_complete(&sdp, 2, addr("[::1]:50002"));
}

#[test]
fn the_default_is_the_udp_candidate_of_highest_priority() {
    let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
               a=candidate:1 1 udp 100 10.0.0.1 5000 typ host\r\n\
               a=candidate:2 1 tcp 900 10.0.0.2 5001 typ host tcptype passive\r\n\
               a=candidate:3 1 udp 300 10.0.0.3 5002 typ host\r\n\
               a=candidate:4 1 udp 200 10.0.0.4 5003 typ host\r\n";
    let sdp = describe_every_candidate(sdp);
    assert_complete(&sdp, 4, addr("10.0.0.3:5002"));
}

#[test]
fn sdp_without_candidates_is_left_as_it_is() {
    let (_client, offer, _, _, _) = client();
    let mut server = server(&[]);
    let answer = server.sdp_api().accept_offer(offer).expect("answer");
    let sdp = answer.to_sdp_string();
    assert_eq!(describe_every_candidate(&sdp), sdp);
}

#[test]
fn other_ice_options_are_kept() {
    let sdp = "v=0\r\na=ice-options:trickle ice2\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
               c=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 100 10.0.0.1 5000 typ host\r\n\
               a=ice-ufrag:u\r\na=ice-options:trickle\r\n";
    assert_eq!(
        describe_every_candidate(sdp),
        "v=0\r\na=ice-options:ice2\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 111\r\n\
         c=IN IP4 10.0.0.1\r\na=candidate:1 1 udp 100 10.0.0.1 5000 typ host\r\n\
         a=end-of-candidates\r\na=ice-ufrag:u\r\n"
    );
}

#[test]
fn only_tcp_candidates_leave_the_default_destination_alone() {
    let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
               a=candidate:1 1 tcp 100 10.0.0.1 5000 typ host tcptype passive\r\n";
    assert_eq!(
        describe_every_candidate(sdp),
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
         a=candidate:1 1 tcp 100 10.0.0.1 5000 typ host tcptype passive\r\n\
         a=end-of-candidates\r\n"
    );
}
