//! ICE-TCP through the real server: a str0m peer whose media goes over TCP only (RFC 4571
//! framing to the shard's passive TCP candidate) exchanges audio and video with a UDP peer, and
//! every ICE-TCP count is back to zero once they leave.

mod common;

use std::time::Duration;

use common::metrics;
use common::peer::Peer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_peer_and_a_udp_peer_exchange_media() {
    let mut config = common::test_config();
    config.media.shards = 1;
    // A class everyone left is freed at once, so teardown can be checked to zero.
    config.empty_class_linger_secs = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join_over_tcp(&server, &class, &class.pupil_token, "Pupil").await;
    tokio::join!(
        teacher.run_for(Duration::from_secs(4)),
        pupil.run_for(Duration::from_secs(4))
    );
    assert!(teacher.connected, "the UDP teacher connected");
    assert!(
        pupil.connected,
        "the TCP pupil connected (ICE and DTLS over TCP)"
    );
    for (peer, other) in [(&teacher, &pupil.id), (&pupil, &teacher.id)] {
        let got = peer.from(other);
        // 4 s of 50 audio and 30 video frames per second; allow for connection setup.
        assert!(got.audio_frames > 50, "{} from {other}: {got:?}", peer.id);
        assert!(got.video_frames > 30, "{} from {other}: {got:?}", peer.id);
        assert!(
            got.video_keyframes >= 1,
            "{} from {other}: {got:?}",
            peer.id
        );
    }
    let totals = metrics::totals(&server).await;
    assert_eq!(totals["classroom_shard_tcp_connections"], 1.0, "{totals:?}");
    assert!(
        totals["classroom_shard_tcp_frames_in_total"] > 100.0,
        "{totals:?}"
    );
    assert!(
        totals["classroom_shard_tcp_frames_out_total"] > 100.0,
        "{totals:?}"
    );
    teacher.leave().await;
    pupil.leave().await;
    let settled = metrics::wait_for(&server, &metrics::nothing(), common::WAIT).await;
    assert!(settled.is_ok(), "left behind: {settled:?}");
    let totals = metrics::totals(&server).await;
    assert_eq!(
        totals["classroom_shard_tcp_closed_total"], 1.0,
        "the connection closed with its session: {totals:?}"
    );
    server.shutdown().await.expect("clean shutdown");
}
