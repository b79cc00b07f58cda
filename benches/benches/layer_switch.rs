//! The per-subscriber simulcast decision, and a whole class switching layer at a keyframe: for
//! 30 subscribers, the decision plus the rewrite each packet costs on top of `write_rtp`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sfu::core::layers::{Decision, Layer, LayerSelector, TrackLayers, UpTo};
use sfu::core::rewrite::Rewriter;

const CLASS: usize = 30;

fn layers() -> TrackLayers {
    let mut layers = TrackLayers::simulcast(&["q".into(), "h".into(), "f".into()]);
    for slot in 0..3 {
        layers.set_active(slot, true);
    }
    layers
}

fn layer_switch(c: &mut Criterion) {
    let mut group = c.benchmark_group("layer_switch");
    let layers = layers();
    let now = Instant::now();

    // Steady state: one subscriber, a packet of its layer.
    let mut selector = LayerSelector::new(Layer::High);
    selector.decide(&UpTo::ALL, &layers, 2, true, now);
    group.throughput(Throughput::Elements(1));
    group.bench_function("decide_steady", |b| {
        b.iter(|| black_box(selector.decide(&UpTo::ALL, &layers, black_box(2), false, now)))
    });

    // A class of 30 on the high layer is told to go low; the low layer's keyframe arrives: each
    // subscriber decides, switches and rewrites it. Then they are sent back up for the next round.
    let mut class: Vec<(LayerSelector, Rewriter)> = (0..CLASS)
        .map(|_| (LayerSelector::new(Layer::High), Rewriter::new(90_000)))
        .collect();
    let mut at = now;
    let mut seq = 0u64;
    let mut target = 0usize;
    for (selector, rewriter) in &mut class {
        selector.decide(&UpTo::ALL, &layers, 2, true, at);
        rewriter.rewrite(seq, 0, at).ok();
    }
    group.throughput(Throughput::Elements(CLASS as u64));
    group.bench_function("class_of_30_switches_at_keyframe", |b| {
        b.iter(|| {
            at += Duration::from_millis(40);
            seq += 100;
            let preferred = if target == 0 { Layer::Low } else { Layer::High };
            for (selector, rewriter) in &mut class {
                selector.preferred = preferred;
                let verdict = selector.decide(&UpTo::ALL, &layers, target, true, at);
                assert_eq!(verdict.decision, Decision::Switch);
                black_box(rewriter.switch(seq, seq as u32, at));
            }
            target = 2 - target;
        })
    });
    group.finish();
}

criterion_group!(benches, layer_switch);
criterion_main!(benches);
