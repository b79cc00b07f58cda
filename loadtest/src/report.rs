//! Turns what the peers recorded into the numbers: rates, CPU per packet, latency percentiles,
//! loss, join times, errors; prints the summary and writes the JSON.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::Serialize;

use crate::cli::Args;
use crate::measure::{self, Kind, PeerStats, Window};
use crate::run::{merge_latency, merge_receive_lag};

/// Readings at one end of the measured window.
#[derive(Debug)]
pub struct Sample {
    pub at: Instant,
    pub server_cpu: Option<std::time::Duration>,
    pub own_cpu: Option<std::time::Duration>,
    pub server: Option<crate::target::ServerCounters>,
    /// CPU time of each of the server's shard threads, by shard index (classroom only).
    pub shard_cpu: BTreeMap<usize, std::time::Duration>,
    pub udp_rcvbuf_errors: Option<u64>,
}

#[derive(Debug)]
pub struct Samples {
    pub first: Sample,
    pub last: Sample,
}

#[derive(Debug, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// How many values the percentiles are over.
    pub count: u64,
}

impl Percentiles {
    fn of_micros(h: &hdrhistogram::Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            count: h.len(),
        }
    }
}

/// The server's own hold times over the window (its `/metrics` histogram): bucket bounds, so
/// "at most".
#[derive(Debug, Serialize)]
pub struct HoldTimes {
    pub p50_at_most_ms: Option<f64>,
    pub p99_at_most_ms: Option<f64>,
    pub mean_ms: f64,
    /// Datagrams received by the server in the window.
    pub count: u64,
}

impl HoldTimes {
    fn over(window: &sfu::hold_time::HoldHistogram) -> HoldTimes {
        let ms = |q| window.quantile_bound(q).map(|d| d.as_secs_f64() * 1e3);
        let count = window.count();
        HoldTimes {
            p50_at_most_ms: ms(0.5),
            p99_at_most_ms: ms(0.99),
            mean_ms: window.sum_us as f64 / 1e3 / count.max(1) as f64,
            count,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorCount {
    pub message: String,
    pub count: u64,
}

/// What the peers on one transport received.
#[derive(Debug, Serialize)]
pub struct TransportReport {
    /// `udp` or `tcp` (ICE-TCP).
    pub transport: &'static str,
    pub participants: usize,
    pub connected: usize,
    /// RTP packets these peers received in the window, per second.
    pub forwarded_packets_per_s: f64,
    pub audio_latency_ms: Percentiles,
    pub video_latency_ms: Percentiles,
    /// Loss on the tracks these peers subscribe to.
    pub loss_ratio: f64,
    pub audio_loss_ratio: f64,
    pub video_loss_ratio: f64,
}

/// One media shard of the classroom server over the window: its thread's CPU and what it sent on
/// each transport. Every packet out counts (RTP, RTCP, STUN), on both transports alike.
#[derive(Debug, Serialize)]
pub struct ShardReport {
    pub shard: usize,
    pub cpu_percent: f64,
    pub udp_datagrams_out_per_s: f64,
    pub tcp_frames_out_per_s: f64,
    /// The thread's CPU time per packet it sent, in microseconds.
    pub cpu_us_per_packet_out: Option<f64>,
}

/// The result of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    pub classes: usize,
    pub pupils_per_class: usize,
    pub talkers_per_class: usize,
    /// Participants planned (teachers + pupils).
    pub participants: usize,
    /// Participants whose ICE/DTLS connection came up.
    pub connected: usize,
    pub duration_s: f64,
    pub window_s: f64,
    /// RTP datagrams (RTCP, STUN and DTLS excluded) received by all peers in the window, per second.
    pub forwarded_packets_per_s: f64,
    /// The server's own `classroom_shard_datagrams_out_total` delta per second (all datagrams).
    pub server_datagrams_out_per_s: Option<f64>,
    /// Server CPU time (utime + stime) per forwarded RTP packet, in microseconds.
    pub sfu_cpu_us_per_forwarded_packet: Option<f64>,
    pub sfu_cpu_percent: Option<f64>,
    /// This load generator's CPU (if near 100 % per runtime thread, it, not the server, was the limit).
    pub loadtest_cpu_percent: Option<f64>,
    /// Frame latency through the server: send stamp → the frame's last datagram reaching the
    /// subscriber's socket (the kernel's receive timestamp).
    pub latency_ms: Percentiles,
    pub audio_latency_ms: Percentiles,
    pub video_latency_ms: Percentiles,
    /// What this generator then took to read and decrypt those frames (not in `latency_ms`; if
    /// it grows, the generator is the bottleneck).
    pub generator_receive_lag_ms: Percentiles,
    /// How long the server itself held datagrams, arrival at its socket → what they caused sent
    /// (classroom only: from its `/metrics`).
    pub server_hold_ms: Option<HoldTimes>,
    /// 1 − received / expected frames, over every (subscriber, track) pair.
    pub loss_ratio: f64,
    pub audio_loss_ratio: f64,
    pub video_loss_ratio: f64,
    pub frames_expected: u64,
    pub frames_received: u64,
    pub join_to_first_media_ms: Percentiles,
    pub keyframe_requests_received: u64,
    /// Machine-wide UDP `RcvbufErrors` during the window (drops for full socket buffers).
    pub udp_rcvbuf_errors: Option<u64>,
    /// The same numbers for the peers over UDP and over ICE-TCP (`--tcp-share`); a transport no
    /// peer used is left out.
    pub by_transport: Vec<TransportReport>,
    /// Per media shard (a spawned or `--server-pid` classroom server).
    pub shards: Vec<ShardReport>,
    pub errors: u64,
    pub error_kinds: Vec<ErrorCount>,
}

impl Report {
    pub fn build(
        args: &Args,
        classes: usize,
        window: Window,
        samples: &Samples,
        stats: Vec<PeerStats>,
    ) -> Report {
        let window_s = window.seconds();
        let sampled_s = samples
            .last
            .at
            .saturating_duration_since(samples.first.at)
            .as_secs_f64()
            .max(1e-3);
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for message in stats.iter().flat_map(|s| s.errors.iter()) {
            *errors.entry(message.clone()).or_default() += 1;
        }
        let (loss, missing) = Loss::compute(&stats, |_| true);
        if missing > 0 {
            *errors
                .entry("a subscriber never got a track of its class".into())
                .or_default() += missing;
        }
        let mut join = measure::histogram();
        for peer in stats.iter().filter(|s| s.id.is_some()) {
            match peer.first_media {
                Some(at) => measure::record(&mut join, at - peer.join_started),
                None if expects_media(peer, args) => {
                    *errors.entry("no media received".into()).or_default() += 1;
                }
                None => {}
            }
        }
        let packets: u64 = stats.iter().map(|s| s.rtp_packets).sum();
        let packets_per_s = packets as f64 / window_s;
        let cpu = |f: fn(&Sample) -> Option<std::time::Duration>| {
            Some((f(&samples.last)? - f(&samples.first)?).as_secs_f64() / sampled_s)
        };
        let server_cpu = cpu(|s| s.server_cpu);
        let delta = |f: fn(&Sample) -> Option<u64>| Some(f(&samples.last)? - f(&samples.first)?);
        let error_kinds: Vec<ErrorCount> = errors
            .into_iter()
            .map(|(message, count)| ErrorCount { message, count })
            .collect();
        Report {
            classes,
            pupils_per_class: args.pupils,
            talkers_per_class: args.talkers,
            participants: classes * (args.pupils + 1),
            connected: stats.iter().filter(|s| s.connected).count(),
            duration_s: args.duration.as_secs_f64(),
            window_s,
            forwarded_packets_per_s: packets_per_s,
            server_datagrams_out_per_s: delta(|s| s.server.as_ref().map(|c| c.datagrams_out))
                .map(|d| d as f64 / sampled_s),
            sfu_cpu_us_per_forwarded_packet: server_cpu
                .filter(|_| packets > 0)
                .map(|c| c * 1e6 / packets_per_s),
            sfu_cpu_percent: server_cpu.map(|c| c * 100.0),
            loadtest_cpu_percent: cpu(|s| s.own_cpu).map(|c| c * 100.0),
            latency_ms: Percentiles::of_micros(&merge_latency(&stats, None)),
            audio_latency_ms: Percentiles::of_micros(&merge_latency(&stats, Some(Kind::Audio))),
            video_latency_ms: Percentiles::of_micros(&merge_latency(&stats, Some(Kind::Video))),
            generator_receive_lag_ms: Percentiles::of_micros(&merge_receive_lag(&stats)),
            server_hold_ms: samples
                .last
                .server
                .as_ref()
                .map(|c| c.hold)
                .zip(samples.first.server.as_ref().map(|c| c.hold))
                .map(|(last, first)| HoldTimes::over(&last.since(&first))),
            loss_ratio: loss.ratio(None),
            audio_loss_ratio: loss.ratio(Some(Kind::Audio)),
            video_loss_ratio: loss.ratio(Some(Kind::Video)),
            frames_expected: loss.expected.values().sum(),
            frames_received: loss.received.values().sum(),
            join_to_first_media_ms: Percentiles::of_micros(&join),
            keyframe_requests_received: stats.iter().map(|s| s.keyframe_requests).sum(),
            udp_rcvbuf_errors: delta(|s| s.udp_rcvbuf_errors),
            by_transport: [("udp", false), ("tcp", true)]
                .into_iter()
                .filter_map(|(name, tcp)| TransportReport::over(name, tcp, &stats, window_s))
                .collect(),
            shards: ShardReport::over(samples, sampled_s),
            errors: error_kinds.iter().map(|e| e.count).sum(),
            error_kinds,
        }
    }

    pub fn add_error(&mut self, message: String) {
        self.errors += 1;
        self.error_kinds.push(ErrorCount { message, count: 1 });
    }

    /// The human summary, on stdout.
    pub fn print(&self) {
        let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".into(), |v| format!("{v:.2}{unit}"));
        println!(
            "classes {} × (1 teacher + {} pupils, {} talking) = {} participants, {} connected",
            self.classes,
            self.pupils_per_class,
            self.talkers_per_class,
            self.participants,
            self.connected
        );
        println!(
            "window {:.1} s of {:.1} s: {:.0} forwarded RTP packets/s received (server says {} datagrams out/s)",
            self.window_s,
            self.duration_s,
            self.forwarded_packets_per_s,
            opt(self.server_datagrams_out_per_s, "")
        );
        println!(
            "server CPU {} → {} per forwarded packet; loadtest CPU {}",
            opt(self.sfu_cpu_percent, " %"),
            opt(self.sfu_cpu_us_per_forwarded_packet, " µs"),
            opt(self.loadtest_cpu_percent, " %")
        );
        for (what, l) in [
            ("latency ms", &self.latency_ms),
            ("  audio", &self.audio_latency_ms),
            ("  video", &self.video_latency_ms),
            (
                "generator's own receive lag ms",
                &self.generator_receive_lag_ms,
            ),
        ] {
            println!(
                "{what}: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  ({} frames)",
                l.p50, l.p90, l.p99, l.max, l.count
            );
        }
        if let Some(hold) = &self.server_hold_ms {
            let bound = |v: Option<f64>| v.map_or("> 1000".into(), |v| format!("≤ {v}"));
            println!(
                "server's own hold time (its /metrics): p50 {} ms  p99 {} ms  mean {:.3} ms  ({} datagrams)",
                bound(hold.p50_at_most_ms),
                bound(hold.p99_at_most_ms),
                hold.mean_ms,
                hold.count
            );
        }
        println!(
            "loss {:.5} (audio {:.5}, video {:.5}; {} of {} frames received)",
            self.loss_ratio,
            self.audio_loss_ratio,
            self.video_loss_ratio,
            self.frames_received,
            self.frames_expected
        );
        let j = &self.join_to_first_media_ms;
        println!(
            "join → first media ms: p50 {:.1}  p99 {:.1}  max {:.1}  ({} peers)",
            j.p50, j.p99, j.max, j.count
        );
        println!(
            "keyframe requests at publishers {}; UDP receive-buffer drops {}; errors {}",
            self.keyframe_requests_received,
            self.udp_rcvbuf_errors
                .map_or("n/a".into(), |v| v.to_string()),
            self.errors
        );
        for t in &self.by_transport {
            println!(
                "  over {}: {} of {} connected, {:.0} RTP packets/s in, audio p99 {:.2} ms, video p99 {:.2} ms, loss {:.5}",
                t.transport,
                t.connected,
                t.participants,
                t.forwarded_packets_per_s,
                t.audio_latency_ms.p99,
                t.video_latency_ms.p99,
                t.loss_ratio
            );
        }
        for s in &self.shards {
            println!(
                "  shard {}: CPU {:.1} %, {:.0} UDP datagrams + {:.0} TCP frames out/s → {} per packet out",
                s.shard,
                s.cpu_percent,
                s.udp_datagrams_out_per_s,
                s.tcp_frames_out_per_s,
                opt(s.cpu_us_per_packet_out, " µs")
            );
        }
        for e in self.error_kinds.iter().take(10) {
            println!("  error ×{}: {}", e.count, e.message);
        }
    }
}

impl TransportReport {
    /// The peers over `tcp` (or not); `None` if there are none.
    fn over(
        transport: &'static str,
        tcp: bool,
        stats: &[PeerStats],
        window_s: f64,
    ) -> Option<TransportReport> {
        let on = |s: &PeerStats| s.tcp == tcp;
        let peers: Vec<&PeerStats> = stats.iter().filter(|s| on(s)).collect();
        if peers.is_empty() {
            return None;
        }
        let latency = |kind| {
            let mut all = measure::histogram();
            for h in peers.iter().filter_map(|s| s.latency.get(&kind)) {
                let _ = all.add(h);
            }
            Percentiles::of_micros(&all)
        };
        let (loss, _) = Loss::compute(stats, on);
        Some(TransportReport {
            transport,
            participants: peers.len(),
            connected: peers.iter().filter(|s| s.connected).count(),
            forwarded_packets_per_s: peers.iter().map(|s| s.rtp_packets).sum::<u64>() as f64
                / window_s,
            audio_latency_ms: latency(Kind::Audio),
            video_latency_ms: latency(Kind::Video),
            loss_ratio: loss.ratio(None),
            audio_loss_ratio: loss.ratio(Some(Kind::Audio)),
            video_loss_ratio: loss.ratio(Some(Kind::Video)),
        })
    }
}

impl ShardReport {
    /// Every shard seen at both ends of the window, with its thread's CPU.
    fn over(samples: &Samples, sampled_s: f64) -> Vec<ShardReport> {
        let (Some(first), Some(last)) = (&samples.first.server, &samples.last.server) else {
            return Vec::new();
        };
        last.shards
            .iter()
            .filter_map(|(shard, out)| {
                let before = first.shards.get(shard)?;
                let cpu = samples
                    .last
                    .shard_cpu
                    .get(shard)?
                    .saturating_sub(*samples.first.shard_cpu.get(shard)?)
                    .as_secs_f64();
                let udp = out
                    .udp_datagrams_out
                    .saturating_sub(before.udp_datagrams_out);
                let tcp = out.tcp_frames_out.saturating_sub(before.tcp_frames_out);
                let packets = udp + tcp;
                Some(ShardReport {
                    shard: *shard,
                    cpu_percent: cpu * 100.0 / sampled_s,
                    udp_datagrams_out_per_s: udp as f64 / sampled_s,
                    tcp_frames_out_per_s: tcp as f64 / sampled_s,
                    cpu_us_per_packet_out: (packets > 0).then(|| cpu * 1e6 / packets as f64),
                })
            })
            .collect()
    }
}

/// Whether someone else in the peer's class publishes (a teacher hears nobody without talkers).
fn expects_media(peer: &PeerStats, args: &Args) -> bool {
    !peer.teacher || args.talkers > 0
}

/// Expected and received frames per kind.
#[derive(Debug, Default)]
struct Loss {
    expected: HashMap<Kind, u64>,
    received: HashMap<Kind, u64>,
}

impl Loss {
    /// For every subscriber and every track published in its class by someone else: the frames the
    /// publisher sent inside the window from the subscriber's first received frame on, against
    /// those received. A track never received counts from the window's start. Returns the loss and
    /// the number of tracks never announced to their subscriber.
    /// Only subscribers `counted` count (publishers are every peer).
    fn compute(stats: &[PeerStats], counted: impl Fn(&PeerStats) -> bool) -> (Loss, u64) {
        let publishers: HashMap<&str, &PeerStats> = stats
            .iter()
            .filter_map(|s| Some((s.id.as_deref()?, s)))
            .filter(|(_, s)| !s.sent.is_empty())
            .collect();
        let mut loss = Loss::default();
        let mut missing = 0;
        for subscriber in stats.iter().filter(|s| s.id.is_some() && counted(s)) {
            for (id, publisher) in publishers.iter().filter(|(id, p)| {
                p.class == subscriber.class && Some(**id) != subscriber.id.as_deref()
            }) {
                for (kind, sent) in &publisher.sent {
                    let track = subscriber
                        .tracks
                        .iter()
                        .find(|t| t.publisher == *id && t.kind == *kind);
                    if track.is_none() {
                        missing += 1;
                    }
                    let from = track.and_then(|t| t.first_in_window).unwrap_or(0);
                    let expected = sent.iter().filter(|s| **s >= from).count() as u64;
                    let received = track.map_or(0, |t| t.frames_in_window).min(expected);
                    *loss.expected.entry(*kind).or_default() += expected;
                    *loss.received.entry(*kind).or_default() += received;
                }
            }
        }
        (loss, missing)
    }

    fn ratio(&self, kind: Option<Kind>) -> f64 {
        let sum = |m: &HashMap<Kind, u64>| -> u64 {
            m.iter()
                .filter(|(k, _)| kind.is_none_or(|want| **k == want))
                .map(|(_, v)| *v)
                .sum()
        };
        let expected = sum(&self.expected);
        if expected == 0 {
            return 0.0;
        }
        1.0 - sum(&self.received) as f64 / expected as f64
    }
}

/// The result of `--find-capacity`.
#[derive(Debug, Serialize)]
pub struct Capacity {
    pub max_loss: f64,
    pub max_p99_ms: f64,
    /// The most classes that held every limit (none: even the first step failed).
    pub capacity_classes: Option<usize>,
    pub stopped_by: Option<String>,
    pub steps: Vec<Report>,
}

impl Capacity {
    pub fn new(args: &Args) -> Capacity {
        Capacity {
            max_loss: args.max_loss,
            max_p99_ms: args.max_p99_ms,
            capacity_classes: None,
            stopped_by: None,
            steps: Vec::new(),
        }
    }

    /// Every step's summary, then the verdict, on stdout.
    pub fn print(&self) {
        for step in &self.steps {
            println!("--- {} classes", step.classes);
            step.print();
        }
        let stopped_by = self.stopped_by.as_deref().unwrap_or("-");
        match self.capacity_classes {
            Some(n) => println!(
                "capacity: {n} classes held (loss ≤ {}, p99 ≤ {} ms, no errors); stopped by {stopped_by}",
                self.max_loss, self.max_p99_ms,
            ),
            None => println!(
                "capacity: not even {} classes held ({stopped_by})",
                self.steps.first().map_or(0, |r| r.classes),
            ),
        }
    }

    /// `None` if the step held, else why not.
    pub fn judge(&self, report: &Report) -> Option<String> {
        if report.errors > 0 {
            return Some(format!("{} errors", report.errors));
        }
        if report.loss_ratio > self.max_loss {
            return Some(format!("loss {:.4} > {}", report.loss_ratio, self.max_loss));
        }
        if report.latency_ms.p99 > self.max_p99_ms {
            return Some(format!(
                "p99 latency {:.2} ms > {} ms",
                report.latency_ms.p99, self.max_p99_ms
            ));
        }
        None
    }
}
