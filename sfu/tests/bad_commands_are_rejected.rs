//! Robustness: the control plane and the open UDP port both feed the core untrusted input. A bad
//! command is refused with a reason and changes nothing; a bad datagram is counted as a drop. Neither
//! may panic, nor disturb the sessions that are up.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{client_offer, Net, Publish, Rng};
use sfu::core::Counters;
use sfu::DropReason;
use sfu::{
    ClientAnswer, ClientOffer, Command, Layer, MediaEvent, ParticipantId, PublishRights, Rejection,
    RoomId, SdpProblem, TrackKind,
};
use str0m::ice::{StunMessage, TransId};
use str0m::Rtc;

/// What the core said about a participant that has no client in the harness.
fn said_about(net: &Net, id: ParticipantId) -> Vec<MediaEvent> {
    let events = net.orphan_events.iter().filter(|(p, _)| *p == id);
    events.map(|(_, e)| e.clone()).collect()
}

fn an_offer(net: &Net, port: u16, config: str0m::RtcConfig) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    client_offer(config, addr, net.now, Publish::BOTH)
        .offer
        .to_sdp_string()
}

fn parsed(sdp: &str) -> ClientOffer {
    ClientOffer::parse(sdp).expect("a well-formed offer")
}

/// A well-formed offer with a single audio m-line, from a client of its own.
fn audio_only_offer(net: &Net) -> String {
    let mut rtc = Rtc::builder().build(net.now);
    let addr = SocketAddr::from(([127, 0, 0, 1], 50004));
    rtc.add_local_candidate(str0m::Candidate::host(addr, "udp").expect("host candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(
        str0m::media::MediaKind::Audio,
        str0m::media::Direction::SendOnly,
        None,
        None,
        None,
    );
    let (offer, _) = api.apply().expect("an offer");
    offer.to_sdp_string()
}

/// Two participants exchanging media, so every test can check that the sessions were untouched.
fn live_room() -> (Net, usize, usize) {
    let mut net = Net::new();
    let a = net.join(1);
    let b = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    (net, a, b)
}

fn assert_media_still_flows(net: &mut Net, a: usize, b: usize) {
    let (a_id, b_id) = (net.client(a).id, net.client(b).id);
    let before = net.client(b).received_from(a_id, TrackKind::Video).frames;
    let before_audio = net.client(a).received_from(b_id, TrackKind::Audio).frames;
    net.progress(Duration::from_millis(500));
    let after = net.client(b).received_from(a_id, TrackKind::Video).frames;
    let after_audio = net.client(a).received_from(b_id, TrackKind::Audio).frames;
    assert!(after >= before + 10, "video {before} -> {after}");
    assert!(
        after_audio >= before_audio + 20,
        "audio {before_audio} -> {after_audio}"
    );
}

fn drops(c: &Counters) -> u64 {
    c.dropped.get(DropReason::UnknownSource)
        + c.dropped.get(DropReason::UnknownUfrag)
        + c.dropped.get(DropReason::BadStun)
}

/// Garbage never reaches the core: a command carries a parsed offer, and parsing (off the shard
/// thread) refuses it with a fixed sentence, never str0m's text with its parser's heap addresses.
#[test]
fn garbage_sdp_does_not_parse_and_the_refusal_quotes_no_internals() {
    let unreadable = Rejection::BadSdp(SdpProblem::Unreadable);
    for garbage in [
        "",
        "hello",
        "v=0\r\nm=audio banana\r\n",
        "\u{0}\u{ff}\r\n\r\n",
        "v=0\r\nthis is no answer\r\n",
    ] {
        assert_eq!(ClientOffer::parse(garbage), Err(unreadable.clone()));
        assert_eq!(ClientAnswer::parse(garbage), Err(unreadable.clone()));
    }
    let words = SdpProblem::Unreadable.to_string();
    assert!(
        !words.contains("0x") && !words.contains("Pointer"),
        "{words}"
    );
}

#[test]
fn a_join_offering_only_pcmu_and_vp9_is_refused_for_want_of_a_codec() {
    let net = Net::new();
    let config = Rtc::builder()
        .clear_codecs()
        .enable_pcmu(true, false)
        .enable_vp9(true);
    let offer = an_offer(&net, 50000, config);
    assert_eq!(ClientOffer::parse(&offer), Err(Rejection::NoUsableCodec));
}

#[test]
fn commands_out_of_turn_are_refused_and_change_nothing() {
    let (mut net, a, b) = live_room();
    let gauges = net.core.gauges();
    let a_id = net.client(a).id;

    // An answer when the core has no offer outstanding (well-formed SDP, so it parses).
    let well_formed = an_offer(&net, 50003, Rtc::builder());
    let an_answer = || ClientAnswer::parse(&well_formed).expect("parses");
    net.command(Command::Answer {
        participant: a_id,
        answer: an_answer(),
    });
    assert_eq!(
        net.client(a).events.last(),
        Some(&MediaEvent::Rejected(Rejection::UnexpectedAnswer))
    );

    // A second Join for a session that exists, even with a perfectly good offer.
    let offer = an_offer(&net, 50001, Rtc::builder());
    net.command(Command::Join {
        room: RoomId(2),
        participant: a_id,
        offer: parsed(&offer),
        sources: Vec::new(),
    });
    assert_eq!(
        net.client(a).events.last(),
        Some(&MediaEvent::Rejected(Rejection::AlreadyJoined))
    );

    // Offer and Answer for someone who never joined (or has left already).
    let stranger = ParticipantId(999);
    let offer = an_offer(&net, 50002, Rtc::builder());
    net.command(Command::Offer {
        participant: stranger,
        offer: parsed(&offer),
        sources: Vec::new(),
    });
    net.command(Command::Answer {
        participant: stranger,
        answer: an_answer(),
    });
    let not_joined = MediaEvent::Rejected(Rejection::NotJoined);
    assert_eq!(said_about(&net, stranger), [not_joined.clone(), not_joined]);
    // A Leave for a stranger is simply nothing to do; so are rights and quality wishes, which
    // the control plane sends whether a media session exists yet or not.
    net.command(Command::Leave {
        participant: stranger,
    });
    net.command(Command::SetRights {
        participant: stranger,
        rights: PublishRights {
            mic: false,
            camera: false,
            screen: false,
        },
    });
    net.command(Command::SetPreferredLayer {
        subscriber: stranger,
        publisher: a_id,
        layer: Layer::Low,
    });
    assert_eq!(said_about(&net, stranger).len(), 2);

    // A renegotiation offer that does not fit the session (one m-line, where it has two) is
    // refused in fixed words; the session keeps its state.
    net.command(Command::Offer {
        participant: a_id,
        offer: parsed(&audio_only_offer(&net)),
        sources: Vec::new(),
    });
    assert_eq!(
        net.client(a).events.last(),
        Some(&MediaEvent::Rejected(Rejection::BadSdp(
            SdpProblem::OfferDoesNotFit
        )))
    );

    assert_eq!(net.core.gauges(), gauges);
    assert_media_still_flows(&mut net, a, b);
}

/// An answer that does not even parse is refused before it reaches the core, so the offer it
/// claimed to answer stays outstanding: the client's real answer, arriving next, still opens the
/// new tracks.
#[test]
fn a_garbage_answer_leaves_the_offer_answerable() {
    let (mut net, a, b) = live_room();
    net.client_mut(a).hold_offers = true;
    let newcomer = net.join(1);
    net.connect_all();
    assert_eq!(net.client(a).held_offers.len(), 1);
    let a_id = net.client(a).id;

    let _ = a_id;
    assert!(ClientAnswer::parse("v=0\r\nthis is no answer\r\n").is_err());

    net.release_offers(a);
    net.progress(Duration::from_secs(1));
    let n = net.client(newcomer).id;
    let got = net.client(a).received_from(n, TrackKind::Video);
    assert!(got.frames >= 20 && got.keyframes >= 1, "{got:?}");
    assert_media_still_flows(&mut net, a, b);
}

/// A real-looking STUN binding request naming `ufrag` as ours.
fn binding_request(ufrag: &str) -> Vec<u8> {
    let username = format!("{ufrag}:peer");
    let msg = StunMessage::binding_request(&username, TransId::new(), true, 0, 1, false);
    let mut buf = vec![0u8; 1500];
    let n = msg
        .to_bytes(Some(b"not-the-password"), &mut buf, |_, _| [0; 20])
        .expect("stun");
    buf.truncate(n);
    buf
}

#[test]
fn malformed_datagrams_from_strangers_are_counted_by_reason() {
    let (mut net, a, b) = live_room();
    let stranger = SocketAddr::from(([10, 9, 8, 7], 5555));
    let before = net.core.counters().clone();

    // RTP (and SRTP-looking bytes) from an address no session uses.
    let rtp = [
        0x80, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
    ];
    net.inject(stranger, &rtp);
    net.inject(stranger, &[]);
    net.inject(stranger, &[0x17; 3]);
    assert_eq!(
        net.core.counters().dropped.get(DropReason::UnknownSource),
        before.dropped.get(DropReason::UnknownSource) + 3
    );

    // STUN naming a session that is not here.
    net.inject(stranger, &binding_request("nobody-has-this"));
    assert_eq!(
        net.core.counters().dropped.get(DropReason::UnknownUfrag),
        before.dropped.get(DropReason::UnknownUfrag) + 1
    );

    // STUN cut short at every length from a bare header to one byte short of whole.
    let whole = binding_request("nobody-has-this");
    for len in 20..whole.len() {
        net.inject(stranger, &whole[..len]);
    }
    let truncated = (whole.len() - 20) as u64;
    assert_eq!(
        net.core.counters().dropped.get(DropReason::BadStun),
        before.dropped.get(DropReason::BadStun) + truncated
    );

    assert_eq!(drops(net.core.counters()), drops(&before) + 4 + truncated);
    assert_eq!(
        net.core.counters().dropped.get(DropReason::Malformed),
        before.dropped.get(DropReason::Malformed)
    );
    assert_media_still_flows(&mut net, a, b);
}

#[test]
fn ten_thousand_random_datagrams_never_panic_and_are_all_dropped() {
    let (mut net, a, b) = live_room();
    let before = net.core.counters().clone();
    let gauges = net.core.gauges();
    let mut rng = Rng(0x5eed_c1a5_5200);
    const N: u64 = 10_000;
    for i in 0..N {
        // From 10/8, where no client lives.
        let ip = [
            10,
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ];
        let source = SocketAddr::from((ip, 1 + rng.below(65535) as u16));
        let len = rng.below(1300) as usize;
        let mut datagram = rng.bytes(len);
        // Steer a share of them into each parser: STUN headers (with the magic cookie), DTLS
        // record types, RTP/RTCP version bits; the rest stay entirely random.
        match (i % 4, datagram.len()) {
            (0, 20..) => {
                datagram[0] &= 0x01;
                datagram[2..4].copy_from_slice(&((len as u16 - 20) & !3).to_be_bytes());
                datagram[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
            }
            (1, 1..) => datagram[0] = 20 + (datagram[0] % 44),
            (2, 1..) => datagram[0] = 0x80 | (datagram[0] & 0x3f),
            _ => {}
        }
        net.inject(source, &datagram);
    }
    let after = net.core.counters();
    assert_eq!(drops(after), drops(&before) + N, "{after:?}");
    assert_eq!(
        after.dropped.get(DropReason::Malformed),
        before.dropped.get(DropReason::Malformed)
    );
    // No address was learnt from any of it, and nothing else was created.
    assert_eq!(net.core.gauges(), gauges);
    assert_media_still_flows(&mut net, a, b);
}

#[test]
fn garbage_from_a_joined_peers_address_does_not_break_its_session() {
    let (mut net, a, b) = live_room();
    let mut rng = Rng(42);
    let spoofed = net.client(a).addr;
    let before = net.core.counters().dropped.get(DropReason::Malformed);
    for _ in 0..2_000 {
        let len = 1 + rng.below(1200) as usize;
        let mut datagram = rng.bytes(len);
        // Never STUN (that would be checked by ICE instead): DTLS- and RTP-looking bytes.
        datagram[0] = if rng.below(2) == 0 {
            20 + datagram[0] % 44
        } else {
            0x80 | (datagram[0] & 0x3f)
        };
        net.inject(spoofed, &datagram);
    }
    // str0m refuses some of it outright (counted); SRTP that fails authentication it drops quietly.
    assert!(net.core.counters().dropped.get(DropReason::Malformed) >= before);
    assert_eq!(net.core.gauges().participants, 2);
    assert_media_still_flows(&mut net, a, b);
}

/// The demux learns a peer's address from STUN naming its session. STUN whose MESSAGE-INTEGRITY
/// was not made with the session's password (anyone who saw the ufrag in clear on the wire can
/// send it) must not teach it addresses: eight of them would push the real address out of the
/// per-session limit, and the peer's media would be dropped until its next consent check.
#[test]
fn unauthenticated_stun_naming_a_session_does_not_take_over_its_address() {
    let (mut net, a, b) = live_room();
    let ufrag = net.client(a).server_ufrag();
    for port in 0..16 {
        let source = SocketAddr::from(([10, 0, 0, 1], 7000 + port));
        net.inject(source, &binding_request(&ufrag));
    }
    let gauges = net.core.gauges();
    assert_eq!(gauges.demux_addrs, 2, "forged STUN was routed: {gauges:?}");
    let before = net.core.counters().dropped.get(DropReason::UnknownSource);
    assert_media_still_flows(&mut net, a, b);
    assert_eq!(
        net.core.counters().dropped.get(DropReason::UnknownSource),
        before,
        "the peer's own media was dropped"
    );
}
