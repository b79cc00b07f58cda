//! The fixtures do what the benchmarks claim: realistic packets, a full fan-out, live sessions.

use benches::stun::Crowd;
use benches::{Frame, Room};

#[test]
fn a_one_packet_frame_reaches_every_subscriber() {
    let mut room = Room::new(5);
    for _ in 0..3 {
        let packets = room.prepare(Frame::VIDEO_ONE_PACKET);
        let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
        eprintln!(
            "one-packet frame: {sizes:?}, timeouts fed so far: {}",
            room.timeouts_in_forward
        );
        assert_eq!(packets.len(), 1);
        assert!((1_050..=1_150).contains(&sizes[0]), "{sizes:?}");
        assert_eq!(room.forward(&packets), 5);
    }
}

#[test]
fn a_keyframe_sized_frame_is_four_packets_to_every_subscriber() {
    let mut room = Room::new(3);
    let packets = room.prepare(Frame::VIDEO_FOUR_PACKETS);
    let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
    eprintln!("four-packet frame: {sizes:?}");
    assert_eq!(packets.len(), 4);
    assert_eq!(room.forward(&packets), 4 * 3);
    let packets = room.prepare(Frame::AUDIO);
    assert_eq!(packets.len(), 1);
    assert_eq!(room.forward(&packets), 3);
}

#[test]
fn sessions_stay_up_for_minutes_of_media() {
    let mut room = Room::new(2);
    // 3,000 frames at 25 fps: two minutes, past ICE consent and several RTCP intervals.
    for _ in 0..3_000 {
        let packets = room.prepare(Frame::VIDEO_ONE_PACKET);
        assert_eq!(room.forward(&packets), 2);
    }
    assert_eq!(room.core.gauges().participants, 3);
}

#[test]
fn every_participant_of_the_crowd_is_routed_both_ways() {
    let mut crowd = Crowd::new(100);
    let rtp = benches::stun::srtp_like(1_100);
    for i in 0..100 {
        let id = crowd
            .demux
            .route(crowd.addrs[i], &crowd.stun[i])
            .expect("stun");
        assert_eq!(crowd.demux.route(crowd.addrs[i], &rtp), Ok(id));
        assert!(crowd.demux.route(crowd.addrs[i], &crowd.forged[i]).is_err());
    }
}
