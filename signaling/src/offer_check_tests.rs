use std::time::{Duration, Instant};

use sfu::TrackSource;

use super::*;

/// A browser-like SDP: one section per `(media, direction)`, mids "0", "1", ...
fn sdp(sections: &[(&str, &str)]) -> String {
    let mut sdp = String::from("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE");
    for i in 0..sections.len() {
        sdp.push_str(&format!(" {i}"));
    }
    sdp.push_str("\r\na=fingerprint:sha-256 ");
    sdp.push_str(&["AB"; 32].join(":"));
    sdp.push_str("\r\n");
    for (i, (media, direction)) in sections.iter().enumerate() {
        let (pt, codec) = if *media == "audio" {
            (111, "opus/48000/2")
        } else {
            (96, "VP8/90000")
        };
        sdp.push_str(&format!(
            "m={media} 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 0.0.0.0\r\na=rtcp-mux\r\n\
             a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n\
             a=mid:{i}\r\na={direction}\r\na=rtpmap:{pt} {codec}\r\n"
        ));
    }
    sdp
}

fn pupil_gate() -> (Config, OfferGate, Instant) {
    let config = Config::default();
    let now = Instant::now();
    let gate = OfferGate::new(&config, now);
    (config, gate, now)
}

fn code(result: Result<impl std::fmt::Debug, ProtocolError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn a_browser_offer_with_mic_camera_and_screen_is_parsed() {
    let (config, mut gate, now) = pupil_gate();
    let offer = sdp(&[
        ("audio", "sendonly"),
        ("video", "sendonly"),
        ("video", "sendonly"),
    ]);
    let sources = [("2".to_owned(), TrackSource::Screen)];
    let pupil = Some(Role::Pupil);
    assert!(gate.offer(&config, pupil, &offer, &sources, now).is_ok());
    // Received m-lines (recvonly) do not count, however many.
    let mut many = vec![("audio", "sendonly"), ("video", "sendonly")];
    many.extend([("video", "recvonly"); 40]);
    assert!(gate.offer(&config, pupil, &sdp(&many), &[], now).is_ok());
}

#[test]
fn a_second_sending_track_of_a_source_is_too_many() {
    let (config, mut gate, now) = pupil_gate();
    let pupil = Some(Role::Pupil);
    let two_mics = sdp(&[("audio", "sendonly"), ("audio", "sendrecv")]);
    let error = gate
        .offer(&config, pupil, &two_mics, &[], now)
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::TooManyTracks);
    assert!(error.message.contains("2 microphone"), "{}", error.message);
    // Two cameras, declared or not.
    let two_cameras = sdp(&[("video", "sendonly"), ("video", "sendonly")]);
    assert_eq!(
        code(gate.offer(&config, pupil, &two_cameras, &[], now)),
        ErrorCode::TooManyTracks
    );
    let declared = [
        ("0".to_owned(), TrackSource::Screen),
        ("1".to_owned(), TrackSource::Screen),
    ];
    assert_eq!(
        code(gate.offer(&config, pupil, &two_cameras, &declared, now)),
        ErrorCode::TooManyTracks
    );
    // Like the offer of 550 sending m-lines (which is also over the size limit).
    let flood = sdp(&[("video", "sendonly"); 200]);
    assert_eq!(
        code(gate.offer(&config, pupil, &flood, &[], now)),
        ErrorCode::TooManyTracks
    );
}

#[test]
fn the_track_limits_are_the_configured_numbers() {
    let mut config = Config::default();
    config.limits.max_camera_tracks = 2;
    config.limits.max_mic_tracks = 0;
    let now = Instant::now();
    let mut gate = OfferGate::new(&config, now);
    let pupil = Some(Role::Pupil);
    let two_cameras = sdp(&[
        ("audio", "inactive"),
        ("video", "sendonly"),
        ("video", "sendonly"),
    ]);
    assert!(gate.offer(&config, pupil, &two_cameras, &[], now).is_ok());
    let a_mic = sdp(&[("audio", "sendonly")]);
    assert_eq!(
        code(gate.offer(&config, pupil, &a_mic, &[], now)),
        ErrorCode::TooManyTracks
    );
}

#[test]
fn a_microphone_cannot_be_declared_a_camera() {
    let (config, mut gate, now) = pupil_gate();
    let offer = sdp(&[("audio", "sendonly"), ("video", "sendonly")]);
    for (mid, source) in [
        ("0", TrackSource::Camera),
        ("0", TrackSource::Screen),
        ("1", TrackSource::Mic),
    ] {
        let declared = [(mid.to_owned(), source)];
        let result = gate.offer(&config, Some(Role::Pupil), &offer, &declared, now);
        assert_eq!(code(result), ErrorCode::BadMessage, "{mid} as {source:?}");
    }
}

#[test]
fn an_sdp_over_the_size_limit_is_refused_before_it_is_read() {
    let (mut config, mut gate, now) = pupil_gate();
    config.limits.max_sdp_bytes = 4096;
    let mut offer = sdp(&[("audio", "sendonly")]);
    offer.push_str(&"a=x-padding\r\n".repeat(400));
    let error = gate
        .offer(&config, Some(Role::Pupil), &offer, &[], now)
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::SdpTooLarge);
    assert!(error.message.contains("4096"), "{}", error.message);
    assert_eq!(
        code(gate.answer(&config, Some(Role::Pupil), &offer)),
        ErrorCode::SdpTooLarge
    );
}

#[test]
fn more_m_lines_than_a_full_class_needs_are_refused() {
    let (mut config, mut gate, now) = pupil_gate();
    config.max_participants_per_room = 4;
    // 3 tracks × 4 members + a data channel.
    assert_eq!(most_media_sections(&config), 13);
    let fits = sdp(&[("video", "recvonly"); 13]);
    assert!(gate
        .offer(&config, Some(Role::Pupil), &fits, &[], now)
        .is_ok());
    let over = sdp(&[("video", "recvonly"); 14]);
    assert_eq!(
        code(gate.offer(&config, Some(Role::Pupil), &over, &[], now)),
        ErrorCode::TooManyTracks
    );
    assert_eq!(
        code(gate.answer(&config, Some(Role::Pupil), &over)),
        ErrorCode::TooManyTracks
    );
}

#[test]
fn offers_beyond_the_burst_wait_for_the_rate() {
    let (config, mut gate, start) = pupil_gate();
    let offer = sdp(&[("audio", "sendonly")]);
    let pupil = Some(Role::Pupil);
    let burst = config.limits.offer_burst;
    for _ in 0..burst {
        assert!(gate.offer(&config, pupil, &offer, &[], start).is_ok());
    }
    let error = gate
        .offer(&config, pupil, &offer, &[], start)
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::OfferRateLimited);
    // Refused offers count too: a flood of garbage costs tokens like anything else.
    let interval = Duration::from_secs(60) / config.limits.offers_per_minute;
    let later = start + interval;
    assert_eq!(
        code(gate.offer(&config, pupil, "garbage", &[], later)),
        ErrorCode::BadSdp
    );
    assert_eq!(
        code(gate.offer(&config, pupil, &offer, &[], later)),
        ErrorCode::OfferRateLimited
    );
    assert!(gate
        .offer(&config, pupil, &offer, &[], later + interval)
        .is_ok());
}

#[test]
fn answers_are_not_rate_limited_but_meet_the_track_limits() {
    let (config, mut gate, now) = pupil_gate();
    let pupil = Some(Role::Pupil);
    let offer = sdp(&[("audio", "sendonly"), ("video", "sendonly")]);
    for _ in 0..config.limits.offer_burst {
        assert!(gate.offer(&config, pupil, &offer, &[], now).is_ok());
    }
    let answer = sdp(&[
        ("audio", "sendonly"),
        ("video", "sendonly"),
        ("video", "recvonly"),
    ]);
    for _ in 0..3 * config.limits.offer_burst {
        assert!(gate.answer(&config, pupil, &answer).is_ok());
    }
    // A received m-line answered as sending would be a second camera.
    let sneaky = sdp(&[
        ("audio", "sendonly"),
        ("video", "sendonly"),
        ("video", "sendrecv"),
    ]);
    assert_eq!(
        code(gate.answer(&config, pupil, &sneaky)),
        ErrorCode::TooManyTracks
    );
}

#[test]
fn an_observer_cannot_publish_through_an_offer_or_an_answer() {
    let (config, mut gate, now) = pupil_gate();
    let observer = Some(Role::Observer);
    let receiving = sdp(&[("audio", "recvonly"), ("video", "inactive")]);
    assert!(gate.offer(&config, observer, &receiving, &[], now).is_ok());
    assert!(gate.answer(&config, observer, &receiving).is_ok());
    let sending = sdp(&[("audio", "recvonly"), ("video", "sendrecv")]);
    let error = gate
        .answer(&config, observer, &sending)
        .expect_err("refused");
    assert_eq!(error.code, ErrorCode::BadSdp);
    assert!(error.message.contains("observer"), "{}", error.message);
    assert_eq!(
        code(gate.offer(&config, observer, &sending, &[], now)),
        ErrorCode::BadSdp
    );
}

#[test]
fn unreadable_sdp_gets_a_fixed_message_without_internals() {
    let (config, mut gate, now) = pupil_gate();
    let garbage = ["hello", "v=0\r\nm=audio banana\r\n", "\u{0}\u{ff}\r\n\r\n"];
    for sdp in garbage {
        for error in [
            gate.offer(&config, Some(Role::Pupil), sdp, &[], now)
                .expect_err("refused"),
            gate.answer(&config, Some(Role::Pupil), sdp)
                .expect_err("refused"),
        ] {
            assert_eq!(error.code, ErrorCode::BadSdp);
            assert!(!error.message.contains("0x"), "{}", error.message);
            assert!(!error.message.contains("Pointer"), "{}", error.message);
            assert_eq!(
                error.message,
                format!("the SDP was refused: {}", sfu::SdpProblem::Unreadable)
            );
        }
    }
}

#[test]
fn sections_read_direction_failing_closed() {
    let read = sections("v=0\r\nm=audio 9 X 0\r\na=mid:a\r\na=recvonly\r\na=sendonly\r\nm=video 9 X 0\r\na=mid:v\r\nm=application 9 X 0\r\na=inactive\r\n");
    let sends: Vec<_> = read.iter().map(|s| (s.media, s.mid, s.sends)).collect();
    assert_eq!(
        sends,
        [
            ("audio", Some("a"), true),
            ("video", Some("v"), true),
            ("application", None, false),
        ]
    );
}
