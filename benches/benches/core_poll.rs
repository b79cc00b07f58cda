//! What every wake-up of a shard pays for the sessions it holds: `poll_output` with nothing to do
//! (the shard's IO loop calls it after every datagram, to learn its next deadline) and a timeout
//! at which nothing is due, with 30, 300 and 2,000 joined, idle participants. (A join costs about
//! 1.7 ms, mostly str0m building a DTLS context, so bigger shards are slow to set up.)

use std::hint::black_box;

use benches::idle::{drain, idle_core};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sfu::core::Input;

fn core_poll(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_poll");
    for participants in [30, 300, 2_000] {
        let (mut core, now) = idle_core(participants);
        let (deadline, _) = drain(&mut core);
        assert!(deadline > now, "something is due on an idle core");
        group.bench_function(BenchmarkId::new("idle_poll_output", participants), |b| {
            b.iter(|| black_box(drain(&mut core)))
        });
        group.bench_function(BenchmarkId::new("timeout_nothing_due", participants), |b| {
            b.iter(|| {
                core.handle_input(now, Input::Timeout);
                black_box(drain(&mut core))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, core_poll);
criterion_main!(benches);
