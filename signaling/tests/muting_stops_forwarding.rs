//! Muting is enforced where the media flows: str0m peers over real UDP, and after the teacher
//! mutes a pupil the others' received audio from it stops growing (its camera goes on), then
//! grows again once the teacher gives it the floor. No renegotiation happens in between, and
//! `/metrics` names the drops (`classroom_dropped_packets_total{reason="no_right"}`).

mod common;

use std::time::Duration;

use common::peer::Peer;
use common::Client;
use serde_json::json;

/// Drives the three peers together for `duration`.
async fn run(peers: &mut [Peer; 3], duration: Duration) {
    let [a, b, c] = peers;
    tokio::join!(
        a.run_for(duration),
        b.run_for(duration),
        c.run_for(duration)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_pupil_is_not_heard_until_given_the_floor() {
    let mut config = common::test_config();
    config.media.shards = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut peers = [
        Peer::join(&server, &class, &class.teacher_token, "Teacher").await,
        Peer::join(&server, &class, &class.pupil_token, "Speaker").await,
        Peer::join(&server, &class, &class.pupil_token, "Listener").await,
    ];
    // A second teacher connection does the moderating, so the peers only do media.
    let (mut desk, _, _) = Client::joined(&server, &class, &class.teacher_token, "Desk").await;
    let speaker = peers[1].id.clone();
    run(&mut peers, Duration::from_secs(3)).await;
    let heard = |peers: &[Peer; 3]| (peers[0].from(&speaker), peers[2].from(&speaker));
    let (teacher_before, listener_before) = heard(&peers);
    assert!(listener_before.audio_frames > 50, "{listener_before:?}");
    assert!(teacher_before.audio_frames > 50, "{teacher_before:?}");
    let offers_before = peers[2].offers_received;

    desk.send(json!({"type": "mute", "participant": speaker}))
        .await;
    desk.drain().await;
    // What was already on the wire arrives; then nothing.
    run(&mut peers, Duration::from_millis(300)).await;
    let (teacher_muted, listener_muted) = heard(&peers);
    run(&mut peers, Duration::from_secs(2)).await;
    let (teacher_after, listener_after) = heard(&peers);
    eprintln!(
        "listener audio from the speaker: {} before the mute, {} just after, {} two seconds later",
        listener_before.audio_frames, listener_muted.audio_frames, listener_after.audio_frames
    );
    assert_eq!(listener_after.audio_frames, listener_muted.audio_frames);
    assert_eq!(teacher_after.audio_frames, teacher_muted.audio_frames);
    assert!(
        listener_after.video_frames > listener_muted.video_frames + 30,
        "the camera is not muted: {listener_after:?}"
    );
    assert_eq!(peers[2].offers_received, offers_before, "no renegotiation");
    let no_right = common::metrics::labelled(
        &server,
        "classroom_dropped_packets_total",
        "reason=\"no_right\"",
    )
    .await;
    assert!(
        no_right >= 50.0,
        "/metrics counts {no_right} packets dropped for want of the right"
    );

    desk.send(json!({"type": "give_floor", "participant": speaker}))
        .await;
    desk.drain().await;
    run(&mut peers, Duration::from_secs(2)).await;
    let (_, listener_floor) = heard(&peers);
    eprintln!(
        "after give_floor: {} (+{})",
        listener_floor.audio_frames,
        listener_floor.audio_frames - listener_after.audio_frames
    );
    assert!(
        listener_floor.audio_frames > listener_after.audio_frames + 50,
        "{listener_floor:?}"
    );
    for peer in peers {
        peer.leave().await;
    }
    server.shutdown().await.expect("shutdown");
}
