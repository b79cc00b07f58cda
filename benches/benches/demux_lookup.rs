//! Which participant a datagram belongs to, with 10,000 sessions on the shard: a STUN binding
//! request (parse, USERNAME lookup, MESSAGE-INTEGRITY check with the session's password) and an
//! SRTP datagram (one lookup of its source address), plus the two ways of missing.

use std::hint::black_box;

use benches::stun::{srtp_like, Crowd};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PARTICIPANTS: usize = 10_000;

fn demux_lookup(c: &mut Criterion) {
    let Crowd {
        mut demux,
        addrs,
        stun,
        forged,
    } = Crowd::new(PARTICIPANTS);
    let media = srtp_like(1_100);
    let stranger = "192.0.2.1:9".parse().expect("address");
    let mut group = c.benchmark_group("demux_lookup");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    let mut next = move || {
        i = (i + 1) % PARTICIPANTS;
        i
    };
    group.bench_function("stun_signed/10k", |b| {
        b.iter(|| {
            let i = next();
            black_box(demux.route(addrs[i], black_box(&stun[i])))
        })
    });
    group.bench_function("srtp_by_address/10k", |b| {
        b.iter(|| {
            let i = next();
            black_box(demux.route(addrs[i], black_box(&media)))
        })
    });
    group.bench_function("stun_forged/10k", |b| {
        b.iter(|| {
            let i = next();
            black_box(demux.route(addrs[i], black_box(&forged[i])))
        })
    });
    group.bench_function("srtp_unknown_source/10k", |b| {
        b.iter(|| black_box(demux.route(stranger, black_box(&media))))
    });
    group.finish();
    assert!(demux.route(addrs[0], &stun[0]).is_ok());
    assert!(demux.route(addrs[1], &forged[1]).is_err());
}

criterion_group!(benches, demux_lookup);
criterion_main!(benches);
