//! The shard handles a read burst's audio before the rest (`shard.rs`, `read_burst`), so it must
//! tell audio RTP from anything else before str0m decrypts it: from the RTP header SRTP leaves in
//! the clear, the sender's address and the payload types its session negotiated.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Net;
use str0m::format::Codec;
use str0m::net::Protocol;

/// An RTP header (no payload needed: only the header is read) with `pt` and the marker bit.
fn rtp(pt: u8, marker: bool) -> Vec<u8> {
    let mut header = vec![0u8; 12];
    header[0] = 0x80;
    header[1] = pt | if marker { 0x80 } else { 0 };
    header
}

#[test]
fn audio_rtp_is_told_apart_from_video_rtcp_and_strangers() {
    let mut net = Net::new();
    let publisher = net.join(1);
    net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));

    let client = net.client(publisher);
    let addr = client.addr;
    let pt_of = |codec: Codec| {
        let params = client.rtc.codec_config().params();
        *params
            .iter()
            .find(|p| p.spec().codec == codec)
            .unwrap_or_else(|| panic!("{codec:?} negotiated"))
            .pt()
    };
    let (opus, vp8) = (pt_of(Codec::Opus), pt_of(Codec::Vp8));
    let core = &net.core;
    let audio =
        |source: SocketAddr, datagram: &[u8]| core.is_audio_rtp(Protocol::Udp, source, datagram);

    assert!(audio(addr, &rtp(opus, false)), "Opus RTP");
    assert!(
        audio(addr, &rtp(opus, true)),
        "Opus RTP with the marker bit"
    );
    assert!(!audio(addr, &rtp(vp8, false)), "VP8 RTP is video");
    assert!(!audio(addr, &rtp(vp8, true)), "VP8 RTP with the marker bit");
    let mut sender_report = rtp(0, false);
    sender_report[1] = 200;
    assert!(!audio(addr, &sender_report), "RTCP (rtcp-mux) is not RTP");
    assert!(
        !audio(addr, &rtp(opus, false)[..11]),
        "shorter than an RTP header"
    );
    let mut version_1 = rtp(opus, false);
    version_1[0] = 0x40;
    assert!(!audio(addr, &version_1), "not RTP version 2 (STUN, DTLS)");
    let stranger: SocketAddr = "127.0.0.1:9".parse().expect("address");
    assert!(
        !audio(stranger, &rtp(opus, false)),
        "from no session's address"
    );
    assert!(
        !core.is_audio_rtp(Protocol::Tcp, addr, &rtp(opus, false)),
        "the address is known over UDP only"
    );
}
