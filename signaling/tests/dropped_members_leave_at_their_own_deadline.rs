//! No ghosts: members whose connection drops (a closed tab, lost Wi-Fi) one after another each
//! leave when their own grace period ends, not when the first one's did, and a class everyone
//! has left is freed a while later. Every count in `/metrics` comes back to zero.
//!
//! Before, nine pupils dropping 100 ms apart left eight "reconnecting" for good, and a class
//! everyone left by closing the tab was never freed.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::metrics;
use common::Client;
use serde_json::json;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

const PUPILS: usize = 9;
const APART: Duration = Duration::from_millis(100);

/// A browser's first offer (mic and camera), without candidates: a media session that exists
/// in the shard but never connects, which only leaving the class frees here.
fn offer() -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    change.apply().expect("offer").0.to_sdp_string()
}

fn config() -> signaling::Config {
    let mut config = common::test_config();
    config.resume_grace_secs = 1;
    config.empty_class_linger_secs = 1;
    // Longer than the test: only leaving the class may free these media sessions.
    config.media.connect_timeout_secs = 120;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pupils_dropping_one_after_another_each_leave_at_their_own_deadline() {
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    let (mut teacher, _, _) =
        Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    let sdp = offer();
    let mut pupils = Vec::new();
    for i in 0..PUPILS {
        let (mut pupil, id, _) =
            Client::joined(&server, &class, &class.pupil_token, &format!("Pupil {i}")).await;
        pupil.send(json!({"type": "offer", "sdp": sdp})).await;
        pupil.expect_type("answer").await;
        pupils.push((pupil, id));
    }
    let everyone = [
        ("classroom_participants", 1.0 + PUPILS as f64),
        ("classroom_shard_media_sessions", PUPILS as f64),
    ];
    metrics::wait_for(&server, &everyone, common::WAIT)
        .await
        .expect("every pupil is in with a media session");

    // Tabs closed one after another: the sockets just go, no `leave`.
    let mut dropped = BTreeSet::new();
    for (pupil, id) in pupils {
        drop(pupil);
        dropped.insert(id);
        tokio::time::sleep(APART).await;
    }

    let mut left = BTreeSet::new();
    while left.len() < PUPILS {
        let message = teacher.expect_type("participant_left").await;
        let id = message["id"].as_str().expect("id").to_owned();
        assert!(dropped.contains(&id), "{message}");
        left.insert(id);
    }
    let only_the_teacher = metrics::one_member_without_media();
    metrics::wait_for(&server, &only_the_teacher, common::WAIT)
        .await
        .expect("nothing of the pupils is left");

    // The teacher closes the tab too: after its grace and the class's linger, nothing is left.
    drop(teacher);
    metrics::wait_for(&server, &metrics::nothing(), common::WAIT)
        .await
        .expect("the class everyone left is freed");
    let mut late = Client::connect(&server).await;
    let refused = late
        .try_join(&class.room, &class.teacher_token, "Teacher")
        .await;
    assert_eq!(refused["code"], "no_such_room", "{refused}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_everyone_left_by_closing_the_tab_is_freed() {
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    let sdp = offer();
    let mut clients = Vec::new();
    for (token, name) in [
        (&class.teacher_token, "Teacher"),
        (&class.pupil_token, "Ada"),
        (&class.pupil_token, "Grace"),
    ] {
        let (mut client, _, _) = Client::joined(&server, &class, token, name).await;
        client.send(json!({"type": "offer", "sdp": sdp})).await;
        client.expect_type("answer").await;
        clients.push(client);
    }
    metrics::wait_for(
        &server,
        &[("classroom_shard_media_sessions", 3.0)],
        common::WAIT,
    )
    .await
    .expect("three media sessions");
    // All at once, as when the lesson ends and every tab is closed.
    drop(clients);
    let held = metrics::wait_for(&server, &metrics::nothing(), common::WAIT)
        .await
        .expect("nothing of the class is left");
    eprintln!("after everyone left: {held:?}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_no_teacher_has_opened_keeps_its_links() {
    let server = common::start(config()).await;
    let class = common::create_class(&server).await;
    // A curious pupil opens the link before the lesson and closes the tab.
    let (pupil, _, _) = Client::joined(&server, &class, &class.pupil_token, "Early").await;
    drop(pupil);
    metrics::wait_for(&server, &[("classroom_participants", 0.0)], common::WAIT)
        .await
        .expect("the pupil's grace ended");
    // Well past grace and linger: a class that only pupils visited is not freed by them.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = metrics::held(&server).await;
    assert_eq!(held["classroom_classes"], 1.0, "{held:?}");
    let (_teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    server.shutdown().await.expect("shutdown");
}
