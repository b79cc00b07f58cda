//! Publishing rights: while a participant may not publish a source, the server drops that
//! source's media (whatever the client keeps sending), without renegotiating; when the right comes
//! back, media flows again, and video restarts at a fresh keyframe.

mod common;

use std::time::Duration;

use common::Net;
use sfu::DropReason;
use sfu::{Command, MediaEvent, PublishRights, TrackKind, TrackSource};

const NO_MIC: PublishRights = PublishRights {
    mic: false,
    camera: true,
    screen: true,
};
const NO_CAMERA: PublishRights = PublishRights {
    mic: true,
    camera: false,
    screen: true,
};

/// A pupil and a teacher, both publishing, past the first keyframes.
fn class() -> (Net, usize, usize) {
    let mut net = Net::new();
    let pupil = net.join(1);
    let teacher = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    (net, pupil, teacher)
}

fn received(net: &Net, at: usize, from: usize, kind: TrackKind) -> u64 {
    let from = net.client(from).id;
    net.client(at).received_from(from, kind).frames
}

#[test]
fn a_pupil_without_the_mic_right_is_not_heard_but_still_seen() {
    let (mut net, pupil, teacher) = class();
    let id = net.client(pupil).id;
    let offers_before = net.client(teacher).events.len();
    net.command(Command::SetRights {
        participant: id,
        rights: NO_MIC,
    });
    net.progress(Duration::from_millis(100));
    let (audio, video) = (
        received(&net, teacher, pupil, TrackKind::Audio),
        received(&net, teacher, pupil, TrackKind::Video),
    );
    net.progress(Duration::from_secs(1));
    assert_eq!(received(&net, teacher, pupil, TrackKind::Audio), audio);
    assert!(received(&net, teacher, pupil, TrackKind::Video) >= video + 20);
    assert!(net.core.counters().dropped.get(DropReason::NoRight) >= 45);
    // The pupil's own media reaching the teacher was not renegotiated.
    let later = &net.client(teacher).events[offers_before..];
    assert!(
        !later.iter().any(|e| matches!(e, MediaEvent::Offer { .. })),
        "{later:?}"
    );

    net.command(Command::SetRights {
        participant: id,
        rights: PublishRights::ALL,
    });
    net.progress(Duration::from_millis(500));
    assert!(received(&net, teacher, pupil, TrackKind::Audio) >= audio + 20);
}

#[test]
fn a_camera_right_given_back_restarts_the_video_at_a_keyframe() {
    let (mut net, pupil, teacher) = class();
    let id = net.client(pupil).id;
    net.command(Command::SetRights {
        participant: id,
        rights: NO_CAMERA,
    });
    net.progress(Duration::from_millis(100));
    let video = received(&net, teacher, pupil, TrackKind::Video);
    net.progress(Duration::from_secs(1));
    assert_eq!(received(&net, teacher, pupil, TrackKind::Video), video);

    let keyframes = net.client(pupil).keyframes_sent;
    let seen = {
        let from = net.client(pupil).id;
        net.client(teacher).received_from(from, TrackKind::Video)
    };
    net.command(Command::SetRights {
        participant: id,
        rights: PublishRights::ALL,
    });
    net.progress(Duration::from_millis(500));
    assert!(
        net.client(pupil).keyframes_sent > keyframes,
        "the pupil was asked for a keyframe"
    );
    let now = net.client(teacher).received_from(id, TrackKind::Video);
    assert!(now.frames >= seen.frames + 10, "{seen:?} -> {now:?}");
    assert!(now.keyframes > seen.keyframes, "{seen:?} -> {now:?}");
}

#[test]
fn a_declared_screen_is_announced_as_such_and_gated_by_the_screen_right() {
    let mut net = Net::new();
    let teacher = net.join(1);
    net.video_source = Some(TrackSource::Screen);
    let presenter = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    let id = net.client(presenter).id;
    let announced: Vec<_> = net
        .client(teacher)
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::TrackAdded {
                publisher,
                kind,
                source,
                ..
            } if *publisher == id => Some((*kind, *source)),
            _ => None,
        })
        .collect();
    assert!(announced.contains(&(TrackKind::Video, TrackSource::Screen)));
    assert!(announced.contains(&(TrackKind::Audio, TrackSource::Mic)));

    // Taking the camera right does not touch a screen share.
    net.command(Command::SetRights {
        participant: id,
        rights: NO_CAMERA,
    });
    let video = received(&net, teacher, presenter, TrackKind::Video);
    net.progress(Duration::from_millis(500));
    assert!(received(&net, teacher, presenter, TrackKind::Video) >= video + 10);
    net.command(Command::SetRights {
        participant: id,
        rights: PublishRights {
            screen: false,
            ..PublishRights::ALL
        },
    });
    net.progress(Duration::from_millis(100));
    let video = received(&net, teacher, presenter, TrackKind::Video);
    net.progress(Duration::from_millis(500));
    assert_eq!(received(&net, teacher, presenter, TrackKind::Video), video);
}

#[test]
fn rights_for_someone_without_a_media_session_are_ignored() {
    // The control plane sends rights whenever they change; a participant whose first offer was
    // refused (or not sent yet) has nothing to gate, and gets no error for it.
    let mut net = Net::new();
    net.command(Command::SetRights {
        participant: sfu::ParticipantId(99),
        rights: NO_MIC,
    });
    assert!(net.orphan_events.is_empty(), "{:?}", net.orphan_events);
}
