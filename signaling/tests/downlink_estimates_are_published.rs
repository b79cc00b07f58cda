//! With `[media] downlink_estimation` on, each media session's downlink is estimated from its
//! peer's transport-wide feedback and `/metrics` counts the sessions per estimate bucket, naming
//! nobody; the paused videos and layer switches have their series from the start.

mod common;

use std::time::Duration;

use common::metrics::labelled;
use common::peer::Peer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_media_session_is_counted_in_a_downlink_bucket() {
    let mut config = common::test_config();
    config.media.shards = 1;
    config.media.downlink_estimation = true;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join(&server, &class, &class.pupil_token, "Pupil").await;
    tokio::join!(
        teacher.run_for(Duration::from_secs(3)),
        pupil.run_for(Duration::from_secs(3))
    );
    let every = labelled(&server, "classroom_shard_downlink_estimates", "le=\"+Inf\"").await;
    assert_eq!(every, 2.0, "both media sessions have an estimate");
    let (_, body) = common::http_get(&server, "/metrics").await;
    for series in [
        "classroom_shard_videos_paused{shard=\"0\",reason=\"bandwidth\"}",
        "classroom_shard_layer_switches_total{shard=\"0\",direction=\"down\"}",
        "classroom_shard_video_pauses_total{shard=\"0\"}",
        "classroom_dropped_packets_total{shard=\"0\",reason=\"paused_bandwidth\"}",
    ] {
        assert!(body.contains(series), "{series} in /metrics");
    }
    // Buckets are cumulative: the widest holds everyone, and no line names a participant.
    assert!(body
        .lines()
        .filter(|l| l.starts_with("classroom_shard_downlink_estimates"))
        .all(|l| !l.contains("participant")));
    teacher.leave().await;
    pupil.leave().await;
    server.shutdown().await.expect("clean shutdown");
}
