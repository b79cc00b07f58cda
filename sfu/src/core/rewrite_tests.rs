//! The rewrite unit's behaviour, case by case, then against a randomised stream.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;

const VIDEO: u32 = 90_000;

fn at(ms: u64) -> Instant {
    // One fixed origin per test run is enough: only differences matter.
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now) + Duration::from_millis(ms)
}

fn seq(r: Result<Rewritten, Refused>) -> u64 {
    r.expect("forwarded").seq
}

#[test]
fn first_packet_keeps_its_low_16_bits_so_the_rollover_counter_starts_at_zero() {
    let mut rw = Rewriter::new(VIDEO);
    let out = rw
        .rewrite(3 * 65_536 + 1_234, 777, at(0))
        .expect("forwarded");
    assert_eq!(
        out,
        Rewritten {
            seq: 1_234,
            time: 777,
            late: false,
            new_source: true,
        }
    );
    assert_eq!(seq(rw.rewrite(3 * 65_536 + 1_235, 777, at(1))), 1_235);
}

#[test]
fn in_order_packets_keep_consecutive_numbers_and_their_timestamps() {
    let mut rw = Rewriter::new(VIDEO);
    for i in 0..100u64 {
        let out = rw
            .rewrite(500 + i, 1_000 + i as u32 * 3_000, at(i))
            .expect("forwarded");
        assert_eq!(out.seq, 500 + i);
        assert_eq!(out.time, 1_000 + i as u32 * 3_000);
    }
}

#[test]
fn sequence_wrap_around_continues_into_the_next_rollover() {
    let mut rw = Rewriter::new(VIDEO);
    // The source's extended numbers cross 65535 -> 65536; the output does too, by one each.
    let outs: Vec<u64> = (65_530..65_545)
        .map(|s| seq(rw.rewrite(s, 0, at(0))))
        .collect();
    let expected: Vec<u64> = (65_530..65_545).collect();
    assert_eq!(outs, expected);
    assert_eq!(outs[6] >> 16, 1, "the rollover counter moved to 1 at 65536");
}

#[test]
fn timestamp_wrap_around_is_seamless() {
    let mut rw = Rewriter::new(VIDEO);
    let first = rw.rewrite(10, u32::MAX - 1_000, at(0)).expect("forwarded");
    let next = rw.rewrite(11, 2_000, at(40)).expect("forwarded");
    assert_eq!(next.time.wrapping_sub(first.time), 3_001);
}

#[test]
fn reordered_packets_land_where_they_would_have_in_order() {
    let mut rw = Rewriter::new(VIDEO);
    let order = [100u64, 102, 101, 105, 103, 104, 106];
    let outs: Vec<u64> = order
        .iter()
        .map(|&s| seq(rw.rewrite(s, 0, at(0))))
        .collect();
    assert_eq!(outs, order.to_vec(), "a fixed offset within one source");
}

#[test]
fn a_packet_lost_upstream_leaves_a_hole_for_the_receiver_to_nack() {
    let mut rw = Rewriter::new(VIDEO);
    assert_eq!(seq(rw.rewrite(10, 0, at(0))), 10);
    assert_eq!(seq(rw.rewrite(12, 0, at(0))), 12);
    // The retransmission (repaired by the server's own NACK) fills exactly that hole.
    let repaired = rw.rewrite(11, 0, at(5)).expect("forwarded");
    assert_eq!((repaired.seq, repaired.late), (11, true));
    assert!(!rw.rewrite(13, 0, at(6)).expect("forwarded").late);
}

#[test]
fn a_skipped_packet_closes_its_slot() {
    let mut rw = Rewriter::new(VIDEO);
    assert_eq!(seq(rw.rewrite(10, 0, at(0))), 10);
    rw.skip(11);
    assert_eq!(seq(rw.rewrite(12, 0, at(0))), 11);
    assert_eq!(seq(rw.rewrite(13, 0, at(0))), 12);
}

#[test]
fn a_run_of_skips_closes_all_its_slots_with_one_mark() {
    let mut rw = Rewriter::new(VIDEO);
    assert_eq!(seq(rw.rewrite(10, 0, at(0))), 10);
    for s in 11..=500 {
        rw.skip(s);
    }
    assert_eq!(rw.marks.len(), 1);
    assert_eq!(seq(rw.rewrite(501, 0, at(0))), 11);
}

#[test]
fn a_late_packet_from_before_a_skip_keeps_its_old_place() {
    let mut rw = Rewriter::new(VIDEO);
    assert_eq!(seq(rw.rewrite(10, 0, at(0))), 10);
    // 11 is lost upstream for now, 12 is dropped on purpose, 13 moves into 12's slot.
    rw.skip(12);
    assert_eq!(seq(rw.rewrite(13, 0, at(0))), 12);
    // 11 arrives late (RTX): its slot was never given away.
    assert_eq!(seq(rw.rewrite(11, 0, at(0))), 11);
    assert_eq!(seq(rw.rewrite(14, 0, at(0))), 13);
}

#[test]
fn a_skip_that_arrives_late_leaves_a_hole_but_moves_nothing_already_sent() {
    let mut rw = Rewriter::new(VIDEO);
    assert_eq!(seq(rw.rewrite(10, 0, at(0))), 10);
    assert_eq!(seq(rw.rewrite(12, 0, at(0))), 12);
    rw.skip(11);
    assert_eq!(seq(rw.rewrite(13, 0, at(0))), 13);
}

#[test]
fn skips_before_anything_was_sent_change_nothing() {
    let mut rw = Rewriter::new(VIDEO);
    rw.skip(5);
    rw.skip(6);
    assert_eq!(seq(rw.rewrite(7, 0, at(0))), 7);
}

#[test]
fn a_source_switch_continues_the_sequence_and_the_clock() {
    let mut rw = Rewriter::new(VIDEO);
    let mut last = rw.rewrite(1_000, 50_000, at(0)).expect("forwarded");
    for i in 1..10u64 {
        last = rw
            .rewrite(1_000 + i, 50_000 + i as u32 * 3_000, at(i * 33))
            .expect("forwarded");
    }
    // The new layer's numbers and clock have nothing in common with the old one's.
    let first = rw.switch(40_000, 7, at(9 * 33 + 40));
    assert!(first.new_source && !last.new_source);
    assert_eq!(first.seq, last.seq + 1);
    assert_eq!(first.time, last.time + 40 * 90, "40 ms at 90 kHz");
    let next = rw
        .rewrite(40_001, 7 + 3_000, at(9 * 33 + 73))
        .expect("forwarded");
    assert_eq!(next.seq, last.seq + 2);
    assert_eq!(next.time, first.time + 3_000);
}

#[test]
fn a_switch_in_the_same_instant_still_moves_the_clock_forward() {
    let mut rw = Rewriter::new(VIDEO);
    let last = rw.rewrite(1, 100, at(0)).expect("forwarded");
    let first = rw.switch(9_999, 5, at(0));
    assert_eq!(first.time, last.time + 1);
}

#[test]
fn resync_makes_the_next_packet_a_new_source() {
    let mut rw = Rewriter::new(48_000);
    let last = rw.rewrite(300, 960, at(0)).expect("forwarded");
    rw.resync();
    // Media resumes after a pause (or another publisher takes the m-line) with a jump.
    let first = rw.rewrite(20_000, 123_456, at(1_000)).expect("forwarded");
    assert!(
        first.new_source,
        "the VP8 numbering starts a new source with it"
    );
    assert_eq!(first.seq, last.seq + 1);
    assert_eq!(first.time, last.time + 48_000);
}

#[test]
fn packets_of_the_new_source_from_before_the_switch_are_refused() {
    let mut rw = Rewriter::new(VIDEO);
    rw.rewrite(10, 0, at(0)).expect("forwarded");
    rw.switch(500, 0, at(10));
    assert_eq!(rw.rewrite(499, 0, at(11)), Err(Refused::BeforeSwitch));
    assert_eq!(seq(rw.rewrite(501, 0, at(12))), 12);
}

#[test]
fn a_switch_clears_the_skips_of_the_old_source() {
    let mut rw = Rewriter::new(VIDEO);
    rw.rewrite(10, 0, at(0)).expect("forwarded");
    rw.skip(11);
    rw.switch(100, 0, at(1));
    assert!(rw.marks.is_empty());
    assert_eq!(seq(rw.rewrite(101, 0, at(2))), 12);
}

#[test]
fn packets_far_behind_the_newest_are_refused() {
    let mut rw = Rewriter::new(VIDEO);
    rw.rewrite(5_000, 0, at(0)).expect("forwarded");
    rw.rewrite(5_000 + MAX_REORDER + 10, 0, at(0))
        .expect("forwarded");
    assert_eq!(rw.rewrite(5_001, 0, at(0)), Err(Refused::TooOld));
    assert!(rw.rewrite(5_000 + 20, 0, at(0)).is_ok());
}

#[test]
fn when_skip_marks_overflow_packets_older_than_the_remembered_ones_are_refused() {
    let mut rw = Rewriter::new(VIDEO);
    rw.rewrite(0, 0, at(0)).expect("forwarded");
    // Alternate forward/skip: every skip needs its own mark.
    for i in 0..(MAX_SKIP_MARKS as u64 + 5) {
        rw.rewrite(1 + 2 * i, 0, at(0)).expect("forwarded");
        rw.skip(2 + 2 * i);
    }
    assert_eq!(rw.marks.len(), MAX_SKIP_MARKS);
    assert_eq!(rw.rewrite(1, 0, at(0)), Err(Refused::TooOld));
    // Recent packets still map consistently: packet 2k+1 went out as k+1.
    let recent = 1 + 2 * (MAX_SKIP_MARKS as u64 + 4);
    assert_eq!(seq(rw.rewrite(recent, 0, at(0))), MAX_SKIP_MARKS as u64 + 5);
}

#[test]
fn no_input_panics_or_breaks_the_sequence_order() {
    let mut rw = Rewriter::new(VIDEO);
    for (s, t) in [
        (u64::MAX, u32::MAX),
        (0, 0),
        (u64::MAX - 1, 1),
        (1 << 48, 7),
    ] {
        let _ = rw.rewrite(s, t, at(0));
        rw.skip(s.wrapping_add(1));
        let _ = rw.switch(s, t, at(0));
    }
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

/// A source of 5,000 packets around a 16-bit wrap, delivered with local reordering, upstream
/// loss and deliberate skips, switched to a new source twice: whatever the order, every packet
/// gets one number, numbers never repeat, and the packets sent in order number without holes
/// other than the upstream losses.
#[test]
fn randomised_stream_numbers_are_unique_and_ordered_like_the_source() {
    for seed in 1..20 {
        let mut rng = Lcg(seed);
        let mut rw = Rewriter::new(VIDEO);
        let mut outs: HashMap<(u32, u64), u64> = HashMap::new();
        let mut used = std::collections::HashSet::new();
        let mut highest_out = None::<u64>;
        for (epoch, base) in [(0u32, 60_000u64), (1, 3_000_000), (2, 17)] {
            let mut packets: Vec<u64> = (base..base + 1_700).collect();
            // Local reordering: swap neighbours within a window of 5.
            for i in 0..packets.len() - 5 {
                if rng.next() % 4 == 0 {
                    let j = i + 1 + (rng.next() % 4) as usize;
                    packets.swap(i, j);
                }
            }
            let mut first = true;
            for s in packets {
                let roll = rng.next() % 100;
                if roll < 3 {
                    continue; // lost upstream
                }
                if first {
                    let out = rw.switch(s, 0, at(0));
                    if let Some(h) = highest_out {
                        assert_eq!(out.seq, h + 1, "seed {seed}: a switch continues");
                    }
                    first = false;
                    outs.insert((epoch, s), out.seq);
                    assert!(used.insert(out.seq));
                    highest_out = Some(highest_out.map_or(out.seq, |h| h.max(out.seq)));
                    continue;
                }
                if roll < 10 {
                    rw.skip(s);
                    continue;
                }
                match rw.rewrite(s, 0, at(0)) {
                    Ok(out) => {
                        assert!(used.insert(out.seq), "seed {seed}: {} reused", out.seq);
                        outs.insert((epoch, s), out.seq);
                        highest_out = Some(highest_out.map_or(out.seq, |h| h.max(out.seq)));
                    }
                    Err(Refused::BeforeSwitch) => assert!(s < base + 20),
                    Err(Refused::TooOld) => panic!("seed {seed}: {s} refused as too old"),
                }
            }
        }
        // Within each source, output order follows source order.
        let mut by_epoch: Vec<_> = outs.into_iter().collect();
        by_epoch.sort();
        for pair in by_epoch.windows(2) {
            let ((e1, s1), o1) = pair[0];
            let ((e2, s2), o2) = pair[1];
            assert!(
                o1 < o2,
                "seed {seed}: ({e1},{s1})->{o1} vs ({e2},{s2})->{o2}"
            );
        }
    }
}
