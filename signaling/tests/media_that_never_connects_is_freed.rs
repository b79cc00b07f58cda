//! A media session whose browser got its answer but never connects (no STUN: UDP blocked, a
//! tab closed right after the offer, a client that only wanted the answer) is freed after
//! `media.connect_timeout_secs`: its client is told `bye` (`media_failed`) and the shard holds
//! nothing of it. Before, str0m (ICE-lite) kept such sessions for good: 20 of 20 after 77 s.

mod common;

use std::time::Instant;

use common::metrics;
use common::{Client, Next};
use serde_json::json;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

const SILENT: usize = 20;

/// A first offer without candidates: ICE can never complete.
fn offer(direction: Direction) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, direction, None, None, None);
    change.add_media(MediaKind::Video, direction, None, None, None);
    change.apply().expect("offer").0.to_sdp_string()
}

fn config() -> signaling::Config {
    let mut config = common::test_config();
    config.media.connect_timeout_secs = 1;
    config.resume_grace_secs = 1;
    config.empty_class_linger_secs = 1;
    config
}

/// Reads until the `bye`, which must say `media_failed` and be followed by the close.
async fn expect_media_failed(client: &mut Client) {
    let bye = client.expect_type("bye").await;
    assert_eq!(bye["reason"], "media_failed", "{bye}");
    match client.next().await {
        Next::Closed(Some(1000)) => {}
        other => panic!("expected the close after bye, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sessions_that_never_connect_are_all_freed() {
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) =
        Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    let sdp = offer(Direction::SendOnly);
    let mut pupils = Vec::new();
    for i in 0..SILENT {
        let (mut pupil, _, _) =
            Client::joined(&server, &class, &class.pupil_token, &format!("Pupil {i}")).await;
        pupil.send(json!({"type": "offer", "sdp": sdp})).await;
        pupil.expect_type("answer").await;
        pupils.push(pupil);
    }
    for pupil in &mut pupils {
        expect_media_failed(pupil).await;
    }
    let only_the_teacher = metrics::one_member_without_media();
    metrics::wait_for(&server, &only_the_teacher, common::WAIT)
        .await
        .expect("nothing of the silent sessions is left");
    let totals = metrics::totals(&server).await;
    assert_eq!(
        totals["classroom_shard_media_never_connected_total"],
        SILENT as f64
    );
    // The teacher, who never offered, is still in the class and was told each pupil left.
    let told = teacher.drain().await;
    let left = told
        .iter()
        .filter(|m| m["type"] == "participant_left")
        .count();
    assert_eq!(left, SILENT);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_who_never_connects_and_two_pupils_who_drop_at_once_leave_nothing() {
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) =
        Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    teacher
        .send(json!({"type": "offer", "sdp": offer(Direction::SendOnly)}))
        .await;
    teacher.expect_type("answer").await;
    let watch = offer(Direction::RecvOnly);
    let mut pupils = Vec::new();
    for name in ["Ada", "Grace"] {
        let (mut pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, name).await;
        pupil.send(json!({"type": "offer", "sdp": watch})).await;
        pupil.expect_type("answer").await;
        pupils.push(pupil);
    }
    // Both pupils' tabs close in the same instant, before anyone connected media.
    drop(pupils);
    expect_media_failed(&mut teacher).await;
    metrics::wait_for(&server, &metrics::nothing(), common::WAIT)
        .await
        .expect("every count returns to zero, the class too");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receive_only_session_that_never_connects_is_ended_too() {
    // An observer (or a pupil without devices) only receives: nothing it publishes could ever
    // show that its media is missing, so only the connect deadline can end it.
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) =
        Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    let (mut observer, observer_id, _) =
        Client::joined(&server, &class, &class.observer_token, "Grace").await;
    observer
        .send(json!({"type": "offer", "sdp": offer(Direction::RecvOnly)}))
        .await;
    observer.expect_type("answer").await;
    expect_media_failed(&mut observer).await;
    let left = teacher.expect_type("participant_left").await;
    assert_eq!(left["id"], observer_id.as_str(), "{left}");
    let only_the_teacher = metrics::one_member_without_media();
    metrics::wait_for(&server, &only_the_teacher, common::WAIT)
        .await
        .expect("nothing of the observer's session is left");
    server.shutdown().await.expect("shutdown");
}
