//! The real server with three str0m peers over UDP loopback: each one's audio and video reach the
//! other two, and nobody gets their own back.

mod common;

use std::time::Duration;

use common::peer::Peer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_from_each_peer_reaches_the_other_two() {
    let server = common::start(common::test_config()).await;
    let class = common::create_class(&server).await;
    let mut peers = vec![
        Peer::join(&server, &class, &class.teacher_token, "Teacher").await,
        Peer::join(&server, &class, &class.pupil_token, "Pupil A").await,
        Peer::join(&server, &class, &class.pupil_token, "Pupil B").await,
    ];
    // Drive all three at once for a while; each runs its own network loop.
    let handles: Vec<_> = peers
        .drain(..)
        .map(|mut peer| {
            tokio::spawn(async move {
                peer.run_for(Duration::from_secs(4)).await;
                peer
            })
        })
        .collect();
    let mut peers = Vec::new();
    for handle in handles {
        peers.push(handle.await.expect("peer task"));
    }
    let ids: Vec<String> = peers.iter().map(|p| p.id.clone()).collect();
    for peer in &peers {
        assert!(peer.connected, "{} connected", peer.id);
        assert!(
            !peer.received.contains_key(&peer.id),
            "{} got its own media back",
            peer.id
        );
        for other in ids.iter().filter(|id| **id != peer.id) {
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
    }
    for peer in peers {
        peer.leave().await;
    }
    server.shutdown().await.expect("clean shutdown");
}
