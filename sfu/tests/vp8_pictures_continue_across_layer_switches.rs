//! Simulcast layer switches keep one continuous VP8 stream: a pupil switched between a teacher's
//! three layers many times sees PictureID go up by one per picture and TL0PICIDX by one per base
//! layer picture across every switch, as Firefox's jitter buffer and decoder need (each layer is
//! its own encoder, with its own unrelated numbers). The teacher and the pupil run str0m in RTP
//! mode, so the test writes the teacher's VP8 descriptors itself, as libwebrtc would (15-bit and
//! 7-bit PictureIDs near their wraps, TL0PICIDX near 0xFF, three temporal layers, KEYIDX on one
//! layer, keyframes over several packets), and reads the bytes that reach the pupil.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::Net;
use sfu::DropReason;
use sfu::{Command, Layer};
use str0m::format::Codec;
use str0m::media::Pt;
use str0m::rtp::RtpWrite;

/// 25 frames a second.
const FRAME: Duration = Duration::from_millis(40);
/// A layer's keyframes come every this many frames, each layer at its own phase.
const KEYFRAME_EVERY: u64 = 12;
/// The pupil's preferred layer changes every this many frames.
const ROUND: u64 = 15;
const ROUNDS: u64 = 40;
/// Layer 1 holds back its frame right before each of its keyframes and sends it after the
/// keyframe: when the pupil switched to layer 1 at that keyframe, the held frame is from before
/// the switch (the server must drop it); otherwise it is a late frame of the current layer.
const HELD_LAYER: usize = 1;
const SIMULCAST_RIDS: [&str; 3] = ["q", "h", "f"];

/// One simulcast layer's encoder, numbering like libwebrtc's but from its own random-looking base.
struct Encoder {
    layer: usize,
    seq: u64,
    time: u32,
    picture_id: u16,
    long: bool,
    tl0_pic_idx: u8,
    key_idx: Option<u8>,
    since_key: u64,
}

impl Encoder {
    fn new(layer: usize, picture_id: u16, long: bool, tl0_pic_idx: u8, key_idx: bool) -> Self {
        Encoder {
            layer,
            seq: 1_000 + 20_000 * layer as u64,
            time: 7_777 * layer as u32,
            picture_id,
            long,
            tl0_pic_idx,
            key_idx: key_idx.then_some(0),
            since_key: 0,
        }
    }

    /// The packets (payloads, marker on the last) of frame `frame`.
    fn encode(&mut self, frame: u64) -> Vec<(u64, u32, Vec<u8>, bool)> {
        let key = frame % KEYFRAME_EVERY == 4 * self.layer as u64;
        let top = if self.long { 0x7fff } else { 0x7f };
        self.picture_id = (self.picture_id + 1) & top;
        if key {
            self.since_key = 0;
            self.key_idx = self.key_idx.map(|k| (k + 1) & 0x1f);
        }
        let tid = [0u8, 2, 1, 2][(self.since_key % 4) as usize];
        self.since_key += 1;
        if tid == 0 {
            self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
        }
        self.time = self.time.wrapping_add(3_600);
        let count = if key { 3 } else { 1 + frame % 2 };
        (0..count)
            .map(|index| {
                let mut payload = self.descriptor(index == 0, tid);
                payload.extend(body(self.layer, frame, index, key));
                self.seq += 1;
                (self.seq, self.time, payload, index + 1 == count)
            })
            .collect()
    }

    /// An RFC 7741 descriptor: X, S on the first packet, PID 0; I, L, T (and K on the layer that
    /// numbers its keyframes); Y set on temporal layer 0.
    fn descriptor(&self, start: bool, tid: u8) -> Vec<u8> {
        let mut d = vec![0x80 | if start { 0x10 } else { 0 }];
        d.push(0x80 | 0x40 | 0x20 | if self.key_idx.is_some() { 0x10 } else { 0 });
        if self.long {
            d.push(0x80 | (self.picture_id >> 8) as u8);
            d.push(self.picture_id as u8);
        } else {
            d.push(self.picture_id as u8);
        }
        d.push(self.tl0_pic_idx);
        let y = if tid == 0 { 0x20 } else { 0 };
        d.push(tid << 6 | y | self.key_idx.unwrap_or(0));
        d
    }
}

/// The bytes after the descriptor, which say whose they are: the VP8 payload header on a frame's
/// first packet (P bit clear on keyframes), then layer, frame and packet index, then filler.
fn body(layer: usize, frame: u64, index: u64, key: bool) -> Vec<u8> {
    let first = match (index, key) {
        (0, true) => 0x00,
        (0, false) => 0x01,
        _ => 0xa0 | index as u8,
    };
    let mut body = vec![
        first,
        layer as u8,
        (frame >> 8) as u8,
        frame as u8,
        index as u8,
    ];
    body.extend((0..300).map(|i| (i as u8).wrapping_mul(layer as u8 + 3) ^ frame as u8));
    body
}

/// A VP8 payload descriptor as a receiver reads it (written here from RFC 7741, not str0m's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Descriptor {
    len: usize,
    picture_id: u16,
    long: bool,
    tl0_pic_idx: u8,
    tid: u8,
    key_idx: Option<u8>,
}

fn parse(payload: &[u8]) -> Option<Descriptor> {
    let x = payload.first()? & 0x80 != 0;
    if !x {
        return None;
    }
    let ext = *payload.get(1)?;
    let (i, l, t, k) = (ext & 0x80, ext & 0x40, ext & 0x20, ext & 0x10);
    if i == 0 || l == 0 || t == 0 {
        return None;
    }
    let mut at = 2;
    let first = *payload.get(at)?;
    let long = first & 0x80 != 0;
    let picture_id = if long {
        at += 2;
        u16::from(first & 0x7f) << 8 | u16::from(*payload.get(3)?)
    } else {
        at += 1;
        u16::from(first)
    };
    let tl0_pic_idx = *payload.get(at)?;
    let tid_y_keyidx = *payload.get(at + 1)?;
    let len = at + 2;
    (payload.len() > len).then_some(Descriptor {
        len,
        picture_id,
        long,
        tl0_pic_idx,
        tid: tid_y_keyidx >> 6,
        key_idx: (k != 0).then_some(tid_y_keyidx & 0x1f),
    })
}

/// A received picture: the layer and frame it came from and its descriptor.
#[derive(Debug, Clone, Copy)]
struct Picture {
    layer: u8,
    frame: u16,
    key: bool,
    packets: u64,
    descriptor: Descriptor,
}

/// A simulcast teacher and a watching pupil, both in RTP mode, connected; the teacher's VP8
/// payload type.
fn class() -> (Net, usize, usize, Pt) {
    let mut net = Net::new();
    net.rtp_mode = true;
    net.simulcast = true;
    let teacher = net.join_as(1, common::Publish::BOTH);
    net.simulcast = false;
    let pupil = net.join_as(1, common::Publish::NOTHING);
    net.connect_all();
    let pt = net
        .client(teacher)
        .rtc
        .codec_config()
        .params()
        .iter()
        .find(|p| p.spec().codec == Codec::Vp8)
        .map(|p| p.pt())
        .expect("VP8 configured");
    (net, teacher, pupil, pt)
}

#[test]
fn picture_numbers_continue_across_forty_rounds_of_layer_switches() {
    let (mut net, teacher, pupil, pt) = class();
    let t = net.client(teacher);
    let (video_mid, teacher_id, pupil_id) = (t.video_mid, t.id, net.client(pupil).id);
    // Different bases for each layer; layer 1 uses 7-bit PictureIDs.
    let mut layers = [
        Encoder::new(0, 0x7ff0, true, 0xfa, false),
        Encoder::new(1, 0x70, false, 0x10, false),
        Encoder::new(2, 0x1234, true, 0x80, true),
    ];
    let order = [
        Layer::Low,
        Layer::High,
        Layer::Medium,
        Layer::Low,
        Layer::Medium,
    ];
    let mut held: Vec<(u64, u32, Vec<u8>, bool)> = Vec::new();
    let mut sent: HashMap<(usize, u64, u64), Vec<u8>> = HashMap::new();
    for frame in 0..ROUND * ROUNDS {
        if frame % ROUND == 0 && frame > 0 {
            let layer = order[(frame / ROUND) as usize % order.len()];
            net.command(Command::SetPreferredLayer {
                subscriber: pupil_id,
                publisher: teacher_id,
                layer,
            });
        }
        let now = net.now;
        let rtc = &mut net.client_mut(teacher).rtc;
        for encoder in &mut layers {
            let packets = encoder.encode(frame);
            let layer = encoder.layer;
            for (index, packet) in packets.iter().enumerate() {
                sent.insert((layer, frame, index as u64), packet.2.clone());
            }
            let hold = layer == HELD_LAYER && frame % KEYFRAME_EVERY == 4 * HELD_LAYER as u64 - 1;
            let mut to_send = if hold {
                held.extend(packets);
                Vec::new()
            } else {
                packets
            };
            if layer == HELD_LAYER && frame % KEYFRAME_EVERY == 4 * HELD_LAYER as u64 + 1 {
                to_send.append(&mut held);
            }
            let mut api = rtc.direct_api();
            let rid = Some(SIMULCAST_RIDS[layer].into());
            let stream = api.stream_tx_by_mid(video_mid, rid).expect("layer stream");
            for (seq, time, payload, marker) in to_send {
                let write = RtpWrite::new(pt, seq.into(), time, now, payload)
                    .marker(marker)
                    .nackable(true);
                stream.write_rtp(write);
            }
        }
        net.progress(FRAME);
    }
    net.progress(Duration::from_millis(200));

    // What reached the pupil, in sequence order.
    let rtp_in = &net.client(pupil).rtp_in;
    let mut packets: Vec<_> = rtp_in.iter().filter(|p| !p.payload.is_empty()).collect();
    packets.sort_by_key(|p| *p.seq_no);
    packets.dedup_by_key(|p| *p.seq_no);
    let mut pictures: Vec<Picture> = Vec::new();
    for packet in &packets {
        let payload = &packet.payload[..];
        let d = parse(payload).unwrap_or_else(|| panic!("descriptor parses: {payload:02x?}"));
        let body = &payload[d.len..];
        let (layer, frame, index) = (
            body[1],
            u16::from(body[2]) << 8 | u16::from(body[3]),
            body[4],
        );
        let original = &sent[&(layer as usize, u64::from(frame), u64::from(index))];
        assert_eq!(
            body,
            &original[d.len..],
            "the payload after the descriptor is untouched"
        );
        assert_eq!(d.long, layer != 1, "PictureID keeps its width");
        let key = index == 0 && body[0] == 0x00;
        match pictures.last_mut() {
            Some(p) if (p.layer, p.frame) == (layer, frame) => {
                assert_eq!(
                    p.descriptor.picture_id, d.picture_id,
                    "one PictureID per picture"
                );
                assert_eq!(p.descriptor.tl0_pic_idx, d.tl0_pic_idx);
                p.key |= key;
                p.packets += 1;
            }
            _ => pictures.push(Picture {
                layer,
                frame,
                key,
                packets: 1,
                descriptor: d,
            }),
        }
    }

    for p in &pictures {
        let whole = if p.key { 3 } else { 1 + u64::from(p.frame) % 2 };
        assert_eq!(p.packets, whole, "every packet of {p:?} arrived");
    }
    let mut switches = 0;
    let mut last_key_idx = None;
    for pair in pictures.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let (b, a) = (before.descriptor, after.descriptor);
        let bits = if a.long && b.long { 15 } else { 7 };
        let step = a.picture_id.wrapping_sub(b.picture_id) & ((1 << bits) - 1);
        assert_eq!(step, 1, "PictureID +1 from {before:?} to {after:?}");
        let tl0_step = a.tl0_pic_idx.wrapping_sub(b.tl0_pic_idx);
        let expected = u8::from(a.tid == 0);
        assert_eq!(tl0_step, expected, "TL0PICIDX from {before:?} to {after:?}");
        if let (Some(key_idx), Some(last)) = (a.key_idx, last_key_idx) {
            let expected = if after.key { (last + 1) & 0x1f } else { last };
            assert_eq!(key_idx, expected, "KEYIDX from {before:?} to {after:?}");
        }
        last_key_idx = a.key_idx.or(last_key_idx);
        if before.layer != after.layer {
            assert!(after.key, "a switch starts at a keyframe: {after:?}");
            switches += 1;
        }
    }
    assert!(switches >= 30, "{switches} layer switches seen");
    assert!(
        pictures.len() as u64 > ROUND * ROUNDS * 9 / 10,
        "{}",
        pictures.len()
    );
    // The frames held back across a switch to their layer were refused, never forwarded.
    assert!(
        net.core.counters().dropped.get(DropReason::Stale) > 0,
        "{:?}",
        net.core.counters()
    );
}

#[test]
fn a_vp8_packet_whose_descriptor_does_not_parse_is_dropped_and_counted() {
    let (mut net, teacher, pupil, pt) = class();
    let video_mid = net.client(teacher).video_mid;
    let mut encoder = Encoder::new(0, 100, true, 0, false);
    let now = net.now;
    // A keyframe the pupil starts on, then a packet that announces a PictureID it does not
    // carry (X and I set, nothing after), then an empty one (what is left of padding).
    let mut packets = encoder.encode(0);
    let seq = encoder.seq;
    packets.push((seq + 1, encoder.time, vec![0x90, 0x80], true));
    packets.push((seq + 2, encoder.time, Vec::new(), false));
    let mut api = net.client_mut(teacher).rtc.direct_api();
    let stream = api
        .stream_tx_by_mid(video_mid, Some(SIMULCAST_RIDS[0].into()))
        .expect("layer stream");
    for (seq, time, payload, marker) in packets {
        stream.write_rtp(RtpWrite::new(pt, seq.into(), time, now, payload).marker(marker));
    }
    net.progress(Duration::from_millis(200));
    assert_eq!(net.core.counters().dropped.get(DropReason::MalformedVp8), 1);
    let received = &net.client(pupil).rtp_in;
    assert!(received
        .iter()
        .all(|p| p.payload.is_empty() || parse(&p.payload).is_some()));
    assert_eq!(received.iter().filter(|p| !p.payload.is_empty()).count(), 3);
}
