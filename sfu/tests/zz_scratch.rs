mod common;
use std::time::Duration;
use common::{Net, Publish};
use sfu::TrackKind;

#[test]
fn scratch() {
    let mut net = Net::new();
    let a = net.join_as(1, Publish::AUDIO);
    let b = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    eprintln!("gauges {:?}", net.core.gauges());
    net.set_sending(a, Publish::BOTH);
    net.progress(Duration::from_millis(1000));
    let aid = net.client(a).id;
    eprintln!("camera on: b got from a video {:?} audio {:?}; gauges {:?} {:?}", net.client(b).received_from(aid, TrackKind::Video), net.client(b).received_from(aid, TrackKind::Audio), net.core.gauges(), net.client(a).events.last());
    net.set_sending(a, Publish::AUDIO);
    net.progress(Duration::from_millis(1000));
    eprintln!("camera off: gauges {:?} b tracks {:?}", net.core.gauges(), net.client(b).tracks);
}
