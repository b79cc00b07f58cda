//! The sequence/timestamp rewrite of one packet for one subscriber: the steady state (in order),
//! a reordered packet among deliberate skips, and a source switch.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfu::core::rewrite::Rewriter;

fn rewrite(c: &mut Criterion) {
    let mut group = c.benchmark_group("rewrite");
    group.throughput(Throughput::Elements(1));
    let now = Instant::now();

    let mut rw = Rewriter::new(90_000);
    let mut seq = 60_000u64;
    group.bench_function("in_order", |b| {
        b.iter(|| {
            seq += 1;
            black_box(rw.rewrite(black_box(seq), seq as u32 * 3_000, now))
        })
    });

    // Every fourth packet skipped (a dropped temporal layer, say), and each packet handled after
    // the one that follows it: the mark list is full and searched on every packet.
    let mut rw = Rewriter::new(90_000);
    let mut seq = 0u64;
    group.bench_function("reordered_with_skips", |b| {
        b.iter(|| {
            seq += 4;
            rw.skip(seq);
            let late = rw.rewrite(black_box(seq + 2), 0, now);
            let early = rw.rewrite(black_box(seq + 1), 0, now);
            black_box((late, early))
        })
    });

    let mut rw = Rewriter::new(90_000);
    let mut seq = 0u64;
    let mut at = now;
    group.bench_function("switch", |b| {
        b.iter(|| {
            seq += 10_007;
            at += Duration::from_millis(33);
            black_box(rw.switch(black_box(seq), seq as u32, at))
        })
    });
    group.finish();
}

criterion_group!(benches, rewrite);
criterion_main!(benches);
