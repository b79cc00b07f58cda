//! One publisher's frame through a shard core to every subscriber of the class, in RTP mode: SRTP
//! decrypt, then per subscriber the layer decision, sequence/timestamp rewrite, `write_rtp` and
//! SRTP encrypt, until the core has nothing more to send. Throughput counts the media datagrams
//! sent to subscribers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::{Frame, Room};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("fan_out");
    let shapes: [(usize, &[(&str, Frame)]); 2] = [
        (
            30,
            &[
                ("video_1_packet", Frame::VIDEO_ONE_PACKET),
                ("video_4_packets", Frame::VIDEO_FOUR_PACKETS),
                ("audio", Frame::AUDIO),
            ],
        ),
        (1, &[("video_1_packet", Frame::VIDEO_ONE_PACKET)]),
    ];
    for (subscribers, frames) in shapes {
        let mut room = Room::new(subscribers);
        for &(name, frame) in frames {
            let packets = room.prepare(frame);
            let sent = room.forward(&packets);
            assert_eq!(sent, packets.len() * subscribers, "full fan-out of {name}");
            let sizes: Vec<usize> = packets.iter().map(Vec::len).collect();
            println!(
                "fan_out/{name}/{subscribers}: a frame is {} datagram(s) of {sizes:?} bytes in, \
                 {sent} out",
                packets.len()
            );
            group.throughput(Throughput::Elements(sent as u64));
            let id = BenchmarkId::new(name, format!("{subscribers}_subscribers"));
            group.bench_function(id, |b| {
                b.iter_custom(|frames| forward_frames(&mut room, frame, frames, sent))
            });
        }
    }
    group.finish();
}

/// Forwards `frames` fresh frames; only the core's work on them is timed.
fn forward_frames(room: &mut Room, frame: Frame, frames: u64, expected: usize) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..frames {
        let packets = room.prepare(frame);
        let start = Instant::now();
        let sent = room.forward(black_box(&packets));
        total += start.elapsed();
        assert_eq!(sent, expected, "every subscriber gets every datagram");
    }
    total
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
