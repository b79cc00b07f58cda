mod common;
use std::time::Duration;
use common::Net;
use sfu::TrackKind;

#[test]
fn scratch() {
    let mut net = Net::new();
    let clients: Vec<usize> = (0..3).map(|_| net.join(7)).collect();
    let t = net.connect_all();
    eprintln!("connected in {t:?}");
    net.progress(Duration::from_secs(2));
    for &me in &clients {
        let c = net.client(me);
        for &o in &clients { if o == me { continue; }
            let p = net.client(o);
            eprintln!("{} from {}: audio {:?} video {:?} (sent v {} k {}) kfreq {}", c.id, p.id, c.received_from(p.id, TrackKind::Audio), c.received_from(p.id, TrackKind::Video), p.video_frames_sent, p.keyframes_sent, p.video_keyframe_requests());
        }
        eprintln!("events {:?}", c.events.iter().map(|e| format!("{e:?}").chars().take(40).collect::<String>()).collect::<Vec<_>>());
    }
    eprintln!("{:?} {:?} undeliv {}", net.core.counters(), net.core.gauges(), net.undeliverable);
}
