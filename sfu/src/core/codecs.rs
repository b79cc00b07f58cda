//! The codecs and header extensions the shard negotiates, and the check that an offer can use at
//! least one of the codecs.

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

/// An `RtcConfig` with exactly the codecs we forward, in our order of preference: Opus; VP8 (every
/// browser encodes it in software, cheapest for old school laptops), then H.264. In RTP mode: the
/// shard forwards packets, it never depacketizes or packetizes media.
pub fn rtc_config() -> RtcConfig {
    let mut config = RtcConfig::new()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true);
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

    #[test]
    fn codec_named_outside_media_sections_does_not_count() {
        let sdp = "v=0\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert!(!offers_usable_codec(sdp));
    }
}
