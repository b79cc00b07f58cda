//! Publishing rights gate media at the shard: a source whose right is revoked (the teacher mutes a
//! pupil, turns a camera off) is dropped there and counted, with no renegotiation; when the right
//! returns media flows again, and a returning camera asks its publisher for a keyframe.

mod common;

use std::time::Duration;

use common::Net;
use sfu::{Command, PublishRights, TrackKind};

#[test]
fn a_revoked_mic_is_dropped_at_the_shard_and_flows_again_when_granted() {
    let mut net = Net::new();
    let pupil = net.join(3);
    let teacher = net.join(3);
    net.connect_all();
    net.progress(Duration::from_secs(1));
    let pupil_id = net.client(pupil).id;
    let offers_before = net.client(teacher).events.len();
    let before = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Audio);
    assert!(before.frames > 10, "audio flows first: {before:?}");

    net.command(Command::SetRights {
        participant: pupil_id,
        rights: PublishRights {
            mic: false,
            ..PublishRights::default()
        },
    });
    net.progress(Duration::from_millis(100));
    let muted = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Audio);
    let video_muted = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Video);
    net.progress(Duration::from_secs(1));
    let still = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Audio);
    let video = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Video);
    assert_eq!(still.frames, muted.frames, "no audio while muted");
    assert!(
        video.frames > video_muted.frames + 10,
        "the camera is not muted"
    );
    assert!(net.core.counters().dropped_not_allowed >= 40);
    assert!(
        net.client(teacher).events[offers_before..]
            .iter()
            .all(|e| !matches!(e, sfu::MediaEvent::Offer { .. })),
        "muting renegotiates nothing"
    );

    net.command(Command::SetRights {
        participant: pupil_id,
        rights: PublishRights::default(),
    });
    net.progress(Duration::from_secs(1));
    let after = net
        .client(teacher)
        .received_from(pupil_id, TrackKind::Audio);
    assert!(after.frames > still.frames + 30, "audio back: {after:?}");
}

#[test]
fn a_camera_given_back_asks_its_publisher_for_a_keyframe() {
    let mut net = Net::new();
    let pupil = net.join(4);
    let _teacher = net.join(4);
    net.connect_all();
    net.progress(Duration::from_secs(1));
    let pupil_id = net.client(pupil).id;
    let no_camera = PublishRights {
        camera: false,
        ..PublishRights::default()
    };
    net.command(Command::SetRights {
        participant: pupil_id,
        rights: no_camera,
    });
    net.progress(Duration::from_secs(2));
    let asked = |net: &Net| -> u64 { net.client(pupil).keyframe_requests.values().sum() };
    let before = asked(&net);
    net.command(Command::SetRights {
        participant: pupil_id,
        rights: PublishRights::default(),
    });
    net.progress(Duration::from_millis(200));
    assert!(asked(&net) > before, "a keyframe was asked for");
}

#[test]
fn rights_for_someone_without_a_session_are_ignored() {
    let mut net = Net::new();
    let a = net.join(5);
    net.connect_all();
    net.command(Command::SetRights {
        participant: sfu::ParticipantId(9999),
        rights: PublishRights::default(),
    });
    assert!(!net
        .client(a)
        .events
        .iter()
        .any(|e| matches!(e, sfu::MediaEvent::Rejected(_))));
}
