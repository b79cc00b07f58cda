//! A screen share is a video track declared `"screen"` in the offer's `sources`. Others are told
//! its source in `track_added`; a pupil's share is forwarded only once a teacher grants the screen
//! right (pupils have none by default), and stops again when the teacher stops it.

mod common;

use std::time::Duration;

use common::peer::Peer;
use common::Client;
use serde_json::json;

/// Drives both peers together for `d`.
async fn run(teacher: &mut Peer, pupil: &mut Peer, d: Duration) {
    tokio::join!(teacher.run_for(d), pupil.run_for(d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupils_screen_is_forwarded_only_while_granted() {
    let mut config = common::test_config();
    config.media.shards = 1;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join_declaring(
        &server,
        &class,
        &class.pupil_token,
        "Sharer",
        Some("screen"),
    )
    .await;
    let (mut desk, _, _) = Client::joined(&server, &class, &class.teacher_token, "Desk").await;
    run(&mut teacher, &mut pupil, Duration::from_secs(3)).await;
    let mut sources: Vec<_> = teacher.track_source.values().cloned().collect();
    sources.sort();
    assert_eq!(
        sources,
        vec!["mic", "screen"],
        "track_added names the source"
    );
    let before = teacher.from(&pupil.id);
    assert!(before.audio_frames > 50, "the mic flows: {before:?}");
    assert_eq!(before.video_frames, 0, "no screen right yet: {before:?}");

    desk.send(json!({"type": "set_rights", "participant": pupil.id, "screen": true}))
        .await;
    desk.drain().await;
    run(&mut teacher, &mut pupil, Duration::from_secs(2)).await;
    let granted = teacher.from(&pupil.id);
    assert!(granted.video_frames > 30, "{granted:?}");
    assert!(
        granted.video_keyframes >= 1,
        "decodable at once: {granted:?}"
    );

    desk.send(json!({"type": "stop_screen", "participant": pupil.id}))
        .await;
    desk.drain().await;
    run(&mut teacher, &mut pupil, Duration::from_millis(300)).await;
    let stopped = teacher.from(&pupil.id);
    run(&mut teacher, &mut pupil, Duration::from_secs(1)).await;
    let after = teacher.from(&pupil.id);
    assert_eq!(after.video_frames, stopped.video_frames);
    assert!(after.audio_frames > stopped.audio_frames + 20);
    teacher.leave().await;
    pupil.leave().await;
    server.shutdown().await.expect("shutdown");
}
