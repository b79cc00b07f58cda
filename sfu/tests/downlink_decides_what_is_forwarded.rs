//! With downlink estimation on, each subscriber's link decides what it receives: a pupil whose
//! downlink collapses keeps the audio, has the video paused (told, and the drops counted under
//! their reason) while a pupil on a clean link keeps everything; when the link heals the video
//! comes back by itself.
//!
//! str0m's own estimator drives it, from the transport-wide feedback of real str0m peers; the
//! network has a real delay, as its delay and loss measurements need.

mod common;

use std::time::Duration;

use common::Net;
use sfu::{Command, DropReason, MediaEvent, PauseReason, TrackKind, TrackSource};

/// One way, each leg.
const LATENCY: Duration = Duration::from_millis(20);

fn paused(client: &common::Client) -> usize {
    client
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                MediaEvent::VideoPaused {
                    reason: PauseReason::Bandwidth,
                    source: TrackSource::Camera,
                    ..
                }
            )
        })
        .count()
}

fn resumed(client: &common::Client) -> usize {
    client
        .events
        .iter()
        .filter(|e| matches!(e, MediaEvent::VideoResumed { .. }))
        .count()
}

#[test]
fn a_collapsed_downlink_pauses_video_keeps_audio_and_recovers() {
    let mut net = Net::new();
    net.latency = LATENCY;
    let teacher = net.join(1);
    let clean = net.join(1);
    let weak = net.join(1);
    net.connect_all();
    net.progress(Duration::from_secs(2));
    let teacher_id = net.client(teacher).id;
    for pupil in [clean, weak] {
        let got = net
            .client(pupil)
            .received_from(teacher_id, TrackKind::Video);
        assert!(got.frames > 20, "pupil {pupil} sees the teacher: {got:?}");
        assert_eq!(
            paused(net.client(pupil)),
            0,
            "nothing paused on a clean link"
        );
    }

    // The weak pupil's downlink loses half of everything.
    net.client_mut(weak).loss_down.every = 2;
    let collapsed = net.run_until(Duration::from_secs(10), |net| paused(net.client(weak)) > 0);
    assert!(
        collapsed.is_some(),
        "the weak pupil's video was never paused"
    );
    let paused_event = net.client(weak).events.iter().find_map(|e| match e {
        MediaEvent::VideoPaused { publisher, .. } => Some(*publisher),
        _ => None,
    });
    assert!(paused_event.is_some());
    let before = |net: &Net, who: usize, kind| net.client(who).received_from(teacher_id, kind);
    let weak_audio = before(&net, weak, TrackKind::Audio).frames;
    let clean_video = before(&net, clean, TrackKind::Video).frames;
    net.progress(Duration::from_secs(2));
    assert!(
        before(&net, weak, TrackKind::Audio).frames > weak_audio + 20,
        "the weak pupil still hears the teacher"
    );
    assert!(
        before(&net, clean, TrackKind::Video).frames > clean_video + 40,
        "the clean pupil keeps the video"
    );
    assert_eq!(paused(net.client(clean)), 0, "the clean pupil lost nothing");
    // A client that comes back after a dropped connection is told again.
    let told = paused(net.client(weak));
    let weak_id = net.client(weak).id;
    net.command(Command::RepeatPauses {
        participant: weak_id,
    });
    assert_eq!(
        paused(net.client(weak)),
        told + net.core.gauges().videos_paused[PauseReason::Bandwidth as usize]
    );
    let drops = net.core.counters().dropped;
    assert!(drops.get(DropReason::PausedForBandwidth) > 0, "{drops:?}");
    assert!(net.core.gauges().videos_paused[PauseReason::Bandwidth as usize] >= 1);

    // The link heals: the video comes back by itself.
    net.client_mut(weak).loss_down.every = 0;
    let recovered = net.run_until(Duration::from_secs(30), |net| {
        net.core.gauges().videos_paused[PauseReason::Bandwidth as usize] == 0
    });
    assert!(
        recovered.is_some(),
        "the weak pupil's videos never all resumed"
    );
    let weak_client = net.client(weak);
    assert_eq!(
        resumed(weak_client),
        told,
        "each pause has its resume (the repeated ones were not new pauses)"
    );
    let frames = before(&net, weak, TrackKind::Video).frames;
    net.progress(Duration::from_secs(2));
    assert!(
        before(&net, weak, TrackKind::Video).frames > frames + 20,
        "video flows again after the resume"
    );
}
