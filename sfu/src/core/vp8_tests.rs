//! The VP8 numbering unit, case by case, then many switches between simulated encoders.

use super::*;

/// One simulcast layer's encoder: its own PictureID, TL0PICIDX and KEYIDX, unrelated to the
/// other layers', with three temporal layers (TID pattern 0, 2, 1, 2) like libwebrtc's.
#[derive(Debug, Clone)]
struct Encoder {
    picture_id: u16,
    long: bool,
    tl0_pic_idx: u8,
    key_idx: u8,
    frame: u64,
}

impl Encoder {
    fn new(picture_id: u16, long: bool, tl0_pic_idx: u8) -> Self {
        Encoder {
            picture_id,
            long,
            tl0_pic_idx,
            key_idx: 0,
            frame: 0,
        }
    }

    /// The numbers of the next picture (a keyframe when `key`).
    fn next(&mut self, key: bool) -> Vp8Numbers {
        let (bits, long) = if self.long { (15, true) } else { (7, false) };
        self.picture_id = (self.picture_id + 1) & ((1 << bits) - 1);
        let tid = if key {
            0
        } else {
            [0, 2, 1, 2][(self.frame % 4) as usize]
        };
        if tid == 0 {
            self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
        }
        if key {
            self.key_idx = (self.key_idx + 1) & 0x1f;
            self.frame = 0;
        }
        self.frame += 1;
        Vp8Numbers {
            picture_id: Some(if long {
                PictureId::Long(self.picture_id)
            } else {
                PictureId::Short(self.picture_id as u8)
            }),
            tl0_pic_idx: Some(self.tl0_pic_idx),
            key_idx: Some(self.key_idx),
        }
    }
}

fn numbers(picture_id: PictureId, tl0_pic_idx: u8, key_idx: u8) -> Vp8Numbers {
    Vp8Numbers {
        picture_id: Some(picture_id),
        tl0_pic_idx: Some(tl0_pic_idx),
        key_idx: Some(key_idx),
    }
}

fn long(n: Vp8Numbers) -> u16 {
    match n.picture_id {
        Some(PictureId::Long(v)) => v,
        other => panic!("a 15-bit PictureID, not {other:?}"),
    }
}

fn rewrite(rw: &mut Vp8Rewriter, n: Vp8Numbers) -> Vp8Numbers {
    rw.rewrite(n).expect("placed")
}

#[test]
fn the_first_source_keeps_its_own_numbers() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    let n = numbers(PictureId::Long(12_345), 200, 3);
    assert_eq!(rewrite(&mut rw, n), n);
}

#[test]
fn a_switch_continues_every_number_one_after_the_last_sent() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    let mut high = Encoder::new(30_000, true, 17);
    let mut last = rewrite(&mut rw, high.next(true));
    for _ in 0..10 {
        last = rewrite(&mut rw, high.next(false));
    }
    // The low layer's numbers have nothing in common with the high layer's.
    rw.start_source();
    let first = rewrite(&mut rw, numbers(PictureId::Long(77), 3, 9));
    assert_eq!(long(first), long(last) + 1);
    assert_eq!(first.tl0_pic_idx, last.tl0_pic_idx.map(|t| t + 1));
    assert_eq!(first.key_idx, last.key_idx.map(|k| k + 1));
    let next = rewrite(&mut rw, numbers(PictureId::Long(78), 3, 9));
    assert_eq!(long(next), long(last) + 2);
    assert_eq!(next.tl0_pic_idx, first.tl0_pic_idx);
}

#[test]
fn every_packet_of_a_picture_keeps_one_picture_id() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(5), 1, 0));
    rw.start_source();
    let keyframe = numbers(PictureId::Long(9_000), 40, 0);
    let outs: Vec<_> = (0..6).map(|_| rewrite(&mut rw, keyframe)).collect();
    assert!(outs.iter().all(|o| *o == outs[0]), "{outs:?}");
    assert_eq!(long(outs[0]), 6);
}

#[test]
fn picture_id_wraps_at_0x7fff_within_a_source_and_across_a_switch() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    let mut enc = Encoder::new(0x7ffd, true, 0);
    let outs: Vec<u16> = (0..4)
        .map(|_| long(rewrite(&mut rw, enc.next(false))))
        .collect();
    assert_eq!(outs, [0x7ffe, 0x7fff, 0, 1]);

    // A source whose own numbers are about to wrap joins an output that is about to wrap.
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(0x7ffe), 0, 0));
    rw.start_source();
    let mut enc = Encoder::new(0x7ffc, true, 0);
    let outs: Vec<u16> = (0..5)
        .map(|_| long(rewrite(&mut rw, enc.next(false))))
        .collect();
    assert_eq!(outs, [0x7fff, 0, 1, 2, 3]);
}

#[test]
fn tl0picidx_wraps_at_0xff() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(1), 0xfe, 0));
    rw.start_source();
    let outs: Vec<Option<u8>> = [(2, 10), (3, 11), (4, 12)]
        .into_iter()
        .map(|(p, t)| rewrite(&mut rw, numbers(PictureId::Long(p), t, 0)).tl0_pic_idx)
        .collect();
    assert_eq!(outs, [Some(0xff), Some(0), Some(1)]);
}

#[test]
fn a_seven_bit_picture_id_stays_seven_bits_and_wraps_at_0x7f() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(1_000), 0, 0));
    rw.start_source();
    let mut enc = Encoder::new(0x7d, false, 0);
    let outs: Vec<Option<PictureId>> = (0..4)
        .map(|_| rewrite(&mut rw, enc.next(false)).picture_id)
        .collect();
    // 1_001, 1_002, ... cut to 7 bits: 1_001 = 7 * 128 + 105.
    let expected: Vec<_> = (1_001u16..1_005)
        .map(|v| Some(PictureId::Short((v & 0x7f) as u8)))
        .collect();
    assert_eq!(outs, expected);

    // Back to a 15-bit source: it continues the one count.
    rw.start_source();
    let back = rewrite(&mut rw, numbers(PictureId::Long(20_000), 0, 0));
    assert_eq!(long(back), 1_005);
}

#[test]
fn a_late_packet_of_the_current_source_maps_where_it_would_have_in_order() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(100), 0, 0));
    rw.start_source();
    let mut enc = Encoder::new(5_000, true, 50);
    let sent: Vec<Vp8Numbers> = (0..8).map(|_| enc.next(false)).collect();
    let outs: Vec<Vp8Numbers> = sent.iter().map(|n| rewrite(&mut rw, *n)).collect();
    // A retransmission (upstream RTX) of the third picture arrives after the eighth.
    assert_eq!(rewrite(&mut rw, sent[2]), outs[2]);
    // And the stream goes on where it was.
    assert_eq!(long(rewrite(&mut rw, enc.next(false))), long(outs[7]) + 1);
}

#[test]
fn a_packet_from_before_the_switch_is_refused() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(100), 0, 0));
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(5_000), 7, 0));
    // The new layer's picture before its keyframe (reordered behind it).
    let before = numbers(PictureId::Long(4_999), 6, 0);
    assert_eq!(rw.rewrite(before), Err(Refused::BeforeSwitch));
    // Also across the source's own wrap.
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    rewrite(&mut rw, numbers(PictureId::Long(0), 0, 0));
    let before = numbers(PictureId::Long(0x7fff), 0, 0);
    assert_eq!(rw.rewrite(before), Err(Refused::BeforeSwitch));
}

#[test]
fn absent_fields_stay_absent_and_a_field_that_appears_later_continues_too() {
    let mut rw = Vp8Rewriter::default();
    rw.start_source();
    let bare = Vp8Numbers {
        picture_id: Some(PictureId::Long(10)),
        tl0_pic_idx: None,
        key_idx: None,
    };
    assert_eq!(rewrite(&mut rw, bare), bare);
    assert_eq!(
        rewrite(&mut rw, Vp8Numbers::default()),
        Vp8Numbers::default()
    );
    rewrite(&mut rw, numbers(PictureId::Long(11), 90, 4));
    rw.start_source();
    let out = rewrite(&mut rw, numbers(PictureId::Long(600), 3, 30));
    assert_eq!(out, numbers(PictureId::Long(12), 91, 5));
}

/// A small deterministic generator, so the randomised test is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Three layers with random bases (near their wraps, some with 7-bit PictureIDs), a subscriber
/// switched between them 300 times at their keyframes, pictures split over several packets:
/// every outgoing picture is exactly one after the previous one, every TL0PICIDX either the same
/// or one after (one after only on a base-layer picture), KEYIDX one after at each switch.
#[test]
fn many_switches_between_layers_keep_one_continuous_stream() {
    for seed in 1..10 {
        let mut rng = Lcg(seed);
        let mut layers: Vec<Encoder> = (0..3)
            .map(|i| {
                let long = !(seed % 3 == 0 && i == 1);
                let top = if long { 0x7fff } else { 0x7f };
                Encoder::new((0x7ff0 + rng.next() as u16) & top, long, 0xf0 + i as u8)
            })
            .collect();
        let mut rw = Vp8Rewriter::default();
        let mut current = None::<usize>;
        let mut last: Option<(u64, u8, u8)> = None;
        let mut count = 0u64;
        for _switch in 0..300 {
            let target = (rng.next() % 3) as usize;
            if current == Some(target) {
                continue;
            }
            current = Some(target);
            rw.start_source();
            for frame in 0..(1 + rng.next() % 40) {
                // Every layer encodes every frame; only the current one is forwarded.
                let key = frame == 0;
                let mut pictures = Vec::new();
                for (i, layer) in layers.iter_mut().enumerate() {
                    pictures.push((i, layer.next(key && i == target)));
                }
                let (_, picture) = pictures[target];
                let packets = 1 + rng.next() % 4;
                let mut outs = Vec::new();
                for _ in 0..packets {
                    outs.push(rewrite(&mut rw, picture));
                }
                assert!(outs.iter().all(|o| *o == outs[0]), "seed {seed}: {outs:?}");
                let out = outs[0];
                let id = out.picture_id.expect("kept");
                assert_eq!(
                    id.bits(),
                    picture.picture_id.expect("sent").bits(),
                    "form kept"
                );
                let tl0 = out.tl0_pic_idx.expect("kept");
                let key_idx = out.key_idx.expect("kept");
                if let Some((last_id, last_tl0, last_key)) = last {
                    let step = u64::from(id.value()).wrapping_sub(last_id) & mask(id.bits());
                    assert_eq!(step, 1, "seed {seed}, picture {count}: PictureID continues");
                    let tl0_step = tl0.wrapping_sub(last_tl0);
                    assert!(tl0_step <= 1, "seed {seed}, picture {count}: TL0PICIDX");
                    if key {
                        assert_eq!(tl0_step, 1, "seed {seed}: a keyframe is a new base picture");
                        assert_eq!(key_idx, (last_key + 1) & 0x1f, "seed {seed}: KEYIDX");
                    } else {
                        assert_eq!(key_idx, last_key, "seed {seed}: KEYIDX");
                    }
                }
                // Carry the count in 15 bits whatever this packet's width.
                let full = match last {
                    Some((last_id, _, _)) => {
                        let step = u64::from(id.value()).wrapping_sub(last_id) & mask(id.bits());
                        last_id.wrapping_add(step) & mask(LONG_PICTURE_ID_BITS)
                    }
                    None => u64::from(id.value()),
                };
                last = Some((full, tl0, key_idx));
                count += 1;
            }
        }
        assert!(count > 1_000, "seed {seed}: {count} pictures");
    }
}
