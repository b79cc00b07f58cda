//! A publisher whose browser offers only H.264 video (no VP8) is still forwarded: the shard
//! negotiates H.264 with it and writes its frames to subscribers that can take H.264.

mod common;

use std::time::Duration;

use common::Net;
use sfu::{ParticipantId, TrackKind};
use str0m::format::Codec;

#[test]
fn an_h264_only_publisher_reaches_the_others() {
    let mut net = Net::new();
    net.video_codec = Codec::H264;
    let publisher = net.join(1);
    net.video_codec = Codec::Vp8;
    let watcher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_secs(2));

    let from = ParticipantId(publisher as u64 + 1);
    let video = net.client(watcher).received_from(from, TrackKind::Video);
    let audio = net.client(watcher).received_from(from, TrackKind::Audio);
    // 2 s at 25 fps and 50 audio frames per second, less connection setup.
    assert!(video.frames > 30, "video frames: {video:?}");
    assert!(audio.frames > 60, "audio frames: {audio:?}");
    let params = net
        .client_mut(publisher)
        .rtc
        .codec_config()
        .params()
        .iter()
        .map(|p| p.spec().codec)
        .collect::<Vec<_>>();
    assert!(
        !params.contains(&Codec::Vp8),
        "the publisher offered no VP8: {params:?}"
    );
}
