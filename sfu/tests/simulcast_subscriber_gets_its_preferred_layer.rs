//! Simulcast: a teacher's camera sends three layers; each pupil receives exactly one of them on
//! its m-line, the highest by default, and moves to the layer signalling prefers for it — only at
//! that layer's keyframe, with the picture carrying on.

mod common;

use std::time::Duration;

use common::{Net, Publish, LAYER_FILL};
use sfu::DropReason;
use sfu::{Command, Layer, TrackKind};

/// A simulcast teacher and two watching pupils, past their first keyframes.
fn class() -> (Net, usize, [usize; 2]) {
    let mut net = Net::new();
    net.simulcast = true;
    let teacher = net.join(1);
    net.simulcast = false;
    let pupils = [
        net.join_as(1, Publish::NOTHING),
        net.join_as(1, Publish::NOTHING),
    ];
    net.connect_all();
    net.progress(Duration::from_secs(1));
    (net, teacher, pupils)
}

fn layer_seen(net: &Net, pupil: usize, teacher: usize) -> Option<u8> {
    let from = net.client(teacher).id;
    let fill = net.client(pupil).last_video_fill.get(&from)?;
    fill.checked_sub(LAYER_FILL)
}

#[test]
fn each_pupil_gets_the_highest_layer_and_only_one() {
    let (mut net, teacher, pupils) = class();
    let t = net.client(teacher).id;
    let sent = net.client(teacher).video_frames_sent;
    net.progress(Duration::from_secs(1));
    let sent = net.client(teacher).video_frames_sent - sent;
    for pupil in pupils {
        assert_eq!(layer_seen(&net, pupil, teacher), Some(2));
        let got = net.client(pupil).received_from(t, TrackKind::Video);
        // One layer's frames, not three layers' worth. (+1: when the camera starts, its low
        // layer's first keyframe arrives before the high layer has been seen, and a pupil starts
        // on it, then moves up at the high layer's keyframe of the same frame.)
        let layer_frames = net.client(teacher).video_frames_sent;
        assert!(got.frames <= layer_frames + 1, "{got:?} of {layer_frames}");
        assert!(got.frames >= sent, "{got:?} of {sent} a layer");
        assert_eq!(net.client(pupil).unannounced_frames, 0);
    }
    assert!(net.core.counters().dropped.get(DropReason::LayerNotWanted) > 0);
}

#[test]
fn a_pupil_moves_to_the_low_layer_at_its_keyframe_and_the_other_stays() {
    let (mut net, teacher, [small, big]) = class();
    let t = net.client(teacher).id;
    let before = net.client(small).received_from(t, TrackKind::Video);
    let keyframes_sent = net.client(teacher).keyframes_sent;
    net.command(Command::SetPreferredLayer {
        subscriber: net.client(small).id,
        publisher: t,
        layer: Layer::Low,
    });
    net.progress(Duration::from_secs(1));
    assert_eq!(layer_seen(&net, small, teacher), Some(0));
    assert_eq!(layer_seen(&net, big, teacher), Some(2));
    assert!(
        net.client(teacher).keyframes_sent > keyframes_sent,
        "the switch asked the teacher for a keyframe"
    );
    let after = net.client(small).received_from(t, TrackKind::Video);
    assert!(
        after.keyframes > before.keyframes,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.frames >= before.frames + 20,
        "{before:?} -> {after:?}"
    );

    // And back up.
    net.command(Command::SetPreferredLayer {
        subscriber: net.client(small).id,
        publisher: t,
        layer: Layer::High,
    });
    net.progress(Duration::from_secs(1));
    assert_eq!(layer_seen(&net, small, teacher), Some(2));
    assert_eq!(net.core.counters().dropped.get(DropReason::Stale), 0);
}
