//! Packet loss: str0m's NACK/RTX repairs video on both legs through the SFU, so a lossy uplink or
//! downlink does not turn into frozen video for the subscribers.
//!
//! Loss is seeded (one datagram in k on one leg, at places that are the same from run to run but
//! not periodic) and switched on only once everyone is connected, so ICE and DTLS are not what is
//! being tested. Audio is the control group: Opus is not
//! negotiated with NACK, so its losses show the loss is real.
//!
//! The network has a real delay here: str0m gives up on a missing packet about three RTTs after
//! its last NACK, and on a zero-delay network the measured RTT is zero, so a frame would be
//! abandoned in the very instant its NACK leaves.

mod common;

use std::time::Duration;

use common::{Net, Received};
use sfu::TrackKind;

const DROP_EVERY: u64 = 7;
/// One way, each leg: a 40 ms round trip between a client and the server.
const LATENCY: Duration = Duration::from_millis(20);

/// A publisher and a subscriber, connected and past the first keyframe. Returns both indexes and
/// what the subscriber had received of each kind before the loss starts.
fn pair() -> (Net, usize, usize, Received, Received) {
    let mut net = Net::new();
    net.latency = LATENCY;
    let publisher = net.join(1);
    let subscriber = net.join(1);
    net.connect_all();
    net.progress(Duration::from_millis(500));
    // A browser resends whatever is NACKed (within a rate limit); str0m's default caps a
    // sender's resends at 15 % of what it sends, which a 1-in-7 loss on the publisher's own
    // uplink exceeds with the resends of resends. The server is what is tested here.
    {
        let client = net.client_mut(publisher);
        let mid = client.video_mid;
        let mut api = client.rtc.direct_api();
        let stream = api.stream_tx_by_mid(mid, None).expect("video stream");
        stream.set_rtx_cache(1024, Duration::from_secs(3), None);
    }
    let p = net.client(publisher).id;
    let s = net.client(subscriber);
    let audio = s.received_from(p, TrackKind::Audio);
    let video = s.received_from(p, TrackKind::Video);
    assert!(video.keyframes >= 1 && audio.frames > 0);
    (net, publisher, subscriber, audio, video)
}

/// Runs two seconds of lossy media; returns what was sent and what got through in that time.
fn lossy_run(
    net: &mut Net,
    publisher: usize,
    subscriber: usize,
    before: (Received, Received),
) -> [(u64, u64); 2] {
    let sent_video = net.client(publisher).video_frames_sent;
    net.progress(Duration::from_secs(2));
    // Stop sending and let the last retransmissions land.
    net.client_mut(publisher).publishing = false;
    net.progress(Duration::from_millis(500));
    let p = net.client(publisher);
    let s = net.client(subscriber);
    let video = s.received_from(p.id, TrackKind::Video).frames - before.1.frames;
    let audio = s.received_from(p.id, TrackKind::Audio).frames - before.0.frames;
    // 20 ms audio frames for the two seconds of sending.
    [(100, audio), (p.video_frames_sent - sent_video, video)]
}

#[test]
fn video_survives_loss_on_the_publisher_uplink() {
    let (mut net, publisher, subscriber, audio, video) = pair();
    net.client_mut(publisher).loss_up.every = DROP_EVERY;
    let [(audio_sent, audio_got), (video_sent, video_got)] =
        lossy_run(&mut net, publisher, subscriber, (audio, video));

    let dropped = net.client(publisher).loss_up.dropped;
    assert!(dropped >= 30, "the uplink lost {dropped} datagrams");
    assert!(
        audio_got < audio_sent,
        "audio {audio_got}/{audio_sent}: loss should show"
    );
    // Every video frame made it: the core's str0m NACKed, the publisher resent over RTX.
    assert!(
        video_got >= video_sent,
        "video {video_got}/{video_sent} after NACK"
    );
}

#[test]
fn video_survives_loss_on_the_subscriber_downlink() {
    let (mut net, publisher, subscriber, audio, video) = pair();
    net.client_mut(subscriber).loss_down.every = DROP_EVERY;
    let [(audio_sent, audio_got), (video_sent, video_got)] =
        lossy_run(&mut net, publisher, subscriber, (audio, video));

    let dropped = net.client(subscriber).loss_down.dropped;
    assert!(dropped >= 30, "the downlink lost {dropped} datagrams");
    assert!(
        audio_got < audio_sent,
        "audio {audio_got}/{audio_sent}: loss should show"
    );
    // The subscriber's str0m NACKed the core, which resent from its own send buffer.
    assert!(
        video_got >= video_sent,
        "video {video_got}/{video_sent} after NACK"
    );
}

#[test]
fn loss_on_both_legs_still_delivers_the_video() {
    let (mut net, publisher, subscriber, audio, video) = pair();
    net.client_mut(publisher).loss_up.every = DROP_EVERY;
    net.client_mut(subscriber).loss_down.every = DROP_EVERY + 4;
    let [_, (video_sent, video_got)] = lossy_run(&mut net, publisher, subscriber, (audio, video));
    assert!(
        video_got >= video_sent,
        "video {video_got}/{video_sent} after NACK"
    );
    // Repaired loss is not a reason to ask for a keyframe (every one costs all subscribers).
    assert_eq!(
        net.client(publisher).keyframes_sent,
        1,
        "keyframes: only the first"
    );
}
