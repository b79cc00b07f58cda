//! The keyframe request throttle of a published track: a class of 30 losing the same packet asks
//! at once, one request goes to the publisher and 29 are merged into one deferred.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfu::core::keyframe::{KeyframeGate, KEYFRAME_REQUEST_INTERVAL};

const CLASS: u64 = 30;

fn keyframe_gate(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyframe_gate");
    let mut gate = KeyframeGate::new(KEYFRAME_REQUEST_INTERVAL);
    let mut now = Instant::now();
    group.throughput(Throughput::Elements(CLASS));
    group.bench_function("burst_of_30_then_release", |b| {
        b.iter(|| {
            now += Duration::from_secs(1);
            let mut sent = 0;
            for i in 0..CLASS {
                sent += u32::from(gate.request(black_box(now + Duration::from_micros(i))));
            }
            let deadline = gate.deadline().expect("a deferred request");
            sent += u32::from(gate.poll(black_box(deadline)));
            assert_eq!(sent, 2);
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("merged_request", |b| {
        b.iter(|| black_box(gate.request(black_box(now))))
    });
    group.finish();
}

criterion_group!(benches, keyframe_gate);
criterion_main!(benches);
