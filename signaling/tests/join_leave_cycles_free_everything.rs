//! Participants coming and going leave nothing behind: 1,000 join/offer/leave cycles through the
//! real server (30 of them with a real ICE/DTLS connection and published media), then the shard holds what it held before, no file descriptor leaked, and the
//! participant who stayed was renegotiated with recycled m-lines (its SDP did not grow).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::peer::Peer;
use common::Client;
use serde_json::json;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

const CYCLES: usize = 1000;
/// Cycles where the pupil also connects ICE/DTLS and publishes (slower: a real handshake each).
const FULL_CYCLES: usize = 30;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn offer() -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    change.apply().expect("offer").0.to_sdp_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_join_leave_cycles_leave_nothing_behind() {
    let mut config = common::test_config();
    config.media.shards = 1;
    // The steady teacher answers one server offer per cycle, far faster than any real class
    // churns (about 25 a second for the whole test): not what the rate limit is about.
    config.limits.messages_per_sec = 1000;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;

    let mut steady = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let stop = Arc::new(AtomicBool::new(false));
    let steady_task = tokio::spawn({
        let stop = stop.clone();
        async move {
            steady
                .run_until(Instant::now() + Duration::from_secs(300), &stop)
                .await;
            steady
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fds_before = open_fds();

    let sdp = offer();
    for _ in 0..CYCLES {
        let mut pupil = Client::connect(&server).await;
        pupil.join(&class, &class.pupil_token, "Pupil").await;
        pupil.send(json!({"type": "offer", "sdp": sdp})).await;
        pupil.expect_type("answer").await;
        pupil.send(json!({"type": "leave"})).await;
        pupil.expect_type("bye").await;
    }
    // Some pupils connect for real and publish, so the teacher is offered their tracks and then
    // has those m-lines stopped and reused.
    for _ in 0..FULL_CYCLES {
        let mut pupil = Peer::join(&server, &class, &class.pupil_token, "Pupil").await;
        assert!(
            pupil.run_until_connected(Duration::from_secs(20)).await,
            "pupil connected"
        );
        // Publish a little, so the teacher is really offered this pupil's tracks.
        pupil.run_for(Duration::from_millis(200)).await;
        pupil.leave().await;
    }

    // The shard publishes its gauges every 250 ms: wait until the churn has settled.
    let settled = wait_for(|| {
        let s = server.state.media.stats()[0];
        s.participants == 1 && s.subscriptions == 0
    })
    .await;
    let stats = server.state.media.stats()[0];
    assert!(settled, "shard did not settle: {stats:?}");
    assert_eq!(stats.rooms, 1, "{stats:?}");
    assert_eq!(
        stats.published_tracks, 2,
        "only the teacher's mic and camera: {stats:?}"
    );
    assert!(
        stats.demux_entries <= 1 + 8,
        "one ufrag and a few addresses: {stats:?}"
    );
    assert_eq!(server.state.rooms.participant_count(), 1);
    let fds_after = open_fds();
    assert!(
        fds_after <= fds_before + 4,
        "file descriptors grew from {fds_before} to {fds_after}"
    );

    stop.store(true, Ordering::Relaxed);
    let steady = steady_task.await.expect("steady peer");
    assert!(steady.connected);
    assert!(
        steady.offers_received > 0,
        "the teacher was offered the pupils' tracks"
    );
    // Each pupil's two m-lines were recycled for the next one: the SDP stays a handful of m-lines.
    assert!(
        steady.max_offer_len < 16 * 1024,
        "offers grew to {} bytes",
        steady.max_offer_len
    );
    steady.leave().await;
    assert!(
        wait_for(|| server.state.media.stats()[0].participants == 0).await,
        "last one out frees the room"
    );
    assert_eq!(server.state.media.stats()[0].rooms, 0);
    server.shutdown().await.expect("shutdown");
}

async fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + common::WAIT;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}
