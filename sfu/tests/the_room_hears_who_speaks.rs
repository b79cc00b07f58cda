//! Active speaker: the audio levels publishers send pick the one speaking, and everyone in the
//! room is told when that changes, not at every packet.

mod common;

use std::time::Duration;

use common::{Net, Publish};
use sfu::MediaEvent;

fn speaker_events(net: &Net, index: usize) -> Vec<MediaEvent> {
    let client = net.client(index);
    let events = client.events.iter();
    let speakers = events.filter(|e| matches!(e, MediaEvent::ActiveSpeaker { .. }));
    speakers.cloned().collect()
}

#[test]
fn everyone_hears_who_speaks_and_when_the_floor_passes() {
    let mut net = Net::new();
    let teacher = net.join_as(1, Publish::AUDIO);
    let pupil = net.join_as(1, Publish::AUDIO);
    let watcher = net.join_as(1, Publish::NOTHING);
    net.connect_all();
    net.client_mut(teacher).audio_level = Some(-25);
    net.client_mut(pupil).audio_level = Some(-127);
    net.progress(Duration::from_secs(2));
    let teacher_id = net.client(teacher).id;
    for index in [teacher, pupil, watcher] {
        assert_eq!(
            speaker_events(&net, index),
            vec![MediaEvent::ActiveSpeaker {
                participant: teacher_id
            }]
        );
    }

    net.client_mut(teacher).audio_level = Some(-127);
    net.client_mut(pupil).audio_level = Some(-30);
    net.progress(Duration::from_secs(3));
    let pupil_id = net.client(pupil).id;
    let heard = speaker_events(&net, watcher);
    assert_eq!(
        heard.last(),
        Some(&MediaEvent::ActiveSpeaker {
            participant: pupil_id
        })
    );
    assert_eq!(heard.len(), 2, "{heard:?}");
}
