//! A participant whose signalling socket drops resumes while the shard still holds its media
//! session (`media: "kept"`), then moves to a new network address and restarts ICE with a new
//! offer. str0m, as the ICE-lite answerer, picks new credentials of its own for the restart; the
//! shard's demux must route STUN under the new ufrag, or media could not follow the move.

mod common;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_follows_a_resumed_peer_to_its_new_address() {
    let (server, class, mut teacher, mut pupil) = common::peer::teacher_and_pupil_connected().await;

    let resumed = pupil.drop_and_resume(&server, &class).await;
    assert_eq!(resumed["media"], "kept", "{resumed}");
    pupil.move_and_restart_ice().await;
    tokio::join!(
        teacher.run_for(Duration::from_millis(1500)),
        pupil.run_for(Duration::from_millis(1500))
    );
    let (teacher_mid, pupil_mid) = (teacher.from(&pupil.id), pupil.from(&teacher.id));
    tokio::join!(
        teacher.run_for(Duration::from_secs(2)),
        pupil.run_for(Duration::from_secs(2))
    );
    let (teacher_end, pupil_end) = (teacher.from(&pupil.id), pupil.from(&teacher.id));
    eprintln!(
        "after the move: teacher got {} audio frames from the pupil, the pupil {} from the teacher",
        teacher_end.audio_frames - teacher_mid.audio_frames,
        pupil_end.audio_frames - pupil_mid.audio_frames
    );
    assert!(teacher_end.audio_frames > teacher_mid.audio_frames + 50);
    assert!(pupil_end.audio_frames > pupil_mid.audio_frames + 50);
    teacher.leave().await;
    pupil.leave().await;
    server.shutdown().await.expect("shutdown");
}
