//! The codecs and header extensions the shard negotiates, and the check that an offer can use at
//! least one of the codecs.

use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, Pt};
use str0m::rtp::Extension;
use str0m::RtcConfig;

/// Codec names (as in `a=rtpmap`) the shard speaks, compared case-insensitively.
const SUPPORTED: [&str; 3] = ["opus", "vp8", "h264"];

/// Header extensions negotiated beside str0m's standard ones (audio level, abs-send-time,
/// transport-cc, mid, rid, repaired rid, video orientation), at the ids Chromium offers them with
/// (the offerer's ids win anyway). They describe the media end to end, so the forwarder carries
/// them from publisher to subscriber (`forward.rs`, `carried_extensions`):
/// - playout-delay: the delay a sender asks receivers to keep (low for screen share);
/// - video-content-type: marks screen share, which a receiver's jitter buffer and stats treat
///   apart from camera video;
/// - video-timing: the sender's encode and packetisation times of timing frames (receiver stats);
/// - abs-capture-time: the capture clock, for a receiver's A/V sync and capture timestamps (no
///   browser offers it by default; a native publisher may).
///
/// Not here: color-space (Chromium sends it with HDR video; str0m cannot write it back, so it would
/// be negotiated and never carried), toffset (per hop, as are abs-send-time and transport-cc,
/// which str0m writes for its own hop). Firefox offers none of these four; Chromium the first three.
const END_TO_END_EXTENSIONS: [(u8, Extension); 4] = [
    (5, Extension::PlayoutDelay),
    (6, Extension::VideoContentType),
    (7, Extension::VideoTiming),
    (9, Extension::AbsoluteCaptureTime),
];

/// Opus's payload type in our offers (the one browsers use; in an answer the offerer's wins).
const OPUS_PT: u8 = 111;

/// What our SDP asks of every Opus sender, publishers included (a receiver's `a=fmtp` is what the
/// sender follows): in-band FEC, so a lost packet is rebuilt from the next one (what a pupil on a
/// lossy link hears), and DTX, so an open microphone in a quiet room sends a packet every 400 ms
/// instead of 50 a second (less uplink for the pupil, less to forward for the shard). `minptime`
/// 10 as browsers offer it. (str0m's `enable_opus` writes FEC but has no switch for DTX, so
/// Opus is added by hand with these.)
fn opus_format() -> FormatParams {
    FormatParams {
        min_p_time: Some(10),
        use_inband_fec: Some(true),
        use_dtx: Some(true),
        ..FormatParams::default()
    }
}

/// An `RtcConfig` with exactly the codecs we forward, in our order of preference: Opus; VP8 (every
/// browser encodes it in software, cheapest for old school laptops), then H.264. In RTP mode: the
/// shard forwards packets, it never depacketizes or packetizes media.
pub fn rtc_config() -> RtcConfig {
    let mut config = RtcConfig::new().set_rtp_mode(true).clear_codecs();
    config.codec_config().add_config(
        Pt::from(OPUS_PT),
        None,
        Codec::Opus,
        Frequency::FORTY_EIGHT_KHZ,
        Some(2),
        opus_format(),
    );
    let mut config = config.enable_vp8(true).enable_h264(true);
    for (id, extension) in END_TO_END_EXTENSIONS {
        config = config.set_extension(id, extension);
    }
    config
}

/// Whether an SDP offer has an audio or video m-line with a codec from [`SUPPORTED`].
///
/// str0m would answer such an offer with every m-line rejected; we would rather tell the client why.
pub fn offers_usable_codec(sdp: &str) -> bool {
    let mut in_media = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(media) = line.strip_prefix("m=") {
            in_media = media.starts_with("audio ") || media.starts_with("video ");
            continue;
        }
        if !in_media {
            continue;
        }
        let Some(rtpmap) = line.strip_prefix("a=rtpmap:") else {
            continue;
        };
        let codec = rtpmap
            .split_once(' ')
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or_default();
        if SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(codec)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_or_vp8_is_usable() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";
        assert!(offers_usable_codec(sdp));
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n";
        assert!(offers_usable_codec(sdp));
    }

    #[test]
    fn only_unknown_codecs_is_not_usable() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=rtpmap:98 VP9/90000\r\n";
        assert!(!offers_usable_codec(sdp));
    }

    /// A Chromium-shaped audio offer (Opus, and RED which we do not forward).
    const CHROMIUM_AUDIO_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\nc=IN IP4 0.0.0.0\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
        a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
        a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=msid:- t1\r\na=rtcp-mux\r\n\
        a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
        a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n\
        a=fmtp:63 111/111\r\na=ssrc:1 cname:x\r\n";

    #[test]
    fn the_answer_asks_opus_senders_for_fec_and_dtx() {
        let offer = str0m::change::SdpOffer::from_sdp_string(CHROMIUM_AUDIO_OFFER).expect("offer");
        let mut server = rtc_config()
            .set_ice_lite(true)
            .build(std::time::Instant::now());
        let answer = server.sdp_api().accept_offer(offer).expect("answer");
        let sdp = answer.to_sdp_string();
        let fmtp = sdp
            .lines()
            .find(|l| l.starts_with("a=fmtp:111 "))
            .unwrap_or_else(|| panic!("no Opus fmtp in {sdp}"));
        for param in ["minptime=10", "useinbandfec=1", "usedtx=1"] {
            assert!(fmtp.contains(param), "{param} missing: {fmtp}");
        }
        assert!(sdp.contains("a=rtpmap:111 opus/48000/2"), "{sdp}");
    }

    #[test]
    fn codec_named_outside_media_sections_does_not_count() {
        let sdp = "v=0\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert!(!offers_usable_codec(sdp));
    }
}
