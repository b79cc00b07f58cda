//! A participant whose network disappears (no leave, no ICE) is freed by the server once ICE
//! consent runs out: its session ends with `bye` (`media_failed`), the others see it leave, and the
//! shard holds nothing of it any more.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_vanishes_is_freed_after_the_ice_timeout() {
    let (server, _class, mut teacher, pupil) = common::peer::teacher_and_pupil_connected().await;
    let pupil_id = pupil.id.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let teacher_task = tokio::spawn({
        let stop = stop.clone();
        async move {
            teacher
                .run_until(Instant::now() + Duration::from_secs(45), &stop)
                .await;
            teacher
        }
    });
    let started = Instant::now();
    let (took, bye) = pupil
        .vanish_and_wait_for_bye(Duration::from_secs(40))
        .await
        .expect("the server noticed the vanished pupil");
    assert_eq!(bye["reason"], "media_failed");
    eprintln!("vanished peer freed after {took:?}");
    // The shard's gauges are refreshed every 250 ms.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stats = server.state.media.stats()[0];
    assert_eq!(stats.participants, 1, "{stats:?}");
    assert_eq!(stats.published_tracks, 2, "{stats:?}");
    assert!(started.elapsed() < Duration::from_secs(45));
    stop.store(true, Ordering::Relaxed);
    let teacher = teacher_task.await.expect("teacher");
    assert!(
        teacher.left.contains(&pupil_id),
        "the teacher was told the pupil left"
    );
    server.shutdown().await.expect("shutdown");
}
