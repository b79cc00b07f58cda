//! The codecs the shard negotiates, and the check that an offer can use at least one of them.

use str0m::RtcConfig;

/// Codec names (as in `a=rtpmap`) the shard speaks, compared case-insensitively.
const SUPPORTED: [&str; 3] = ["opus", "vp8", "h264"];

/// An `RtcConfig` with exactly the codecs we forward, in our order of preference: Opus; VP8 (every
/// browser encodes it in software, cheapest for old school laptops), then H.264. In RTP mode: the
/// shard forwards packets, it never depacketizes or packetizes media.
pub fn rtc_config() -> RtcConfig {
    RtcConfig::new()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
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
