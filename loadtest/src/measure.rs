//! Measurement: one clock for the whole process, what each peer records while it runs, and what
//! the operating system says (server CPU from `/proc/<pid>/stat`, UDP buffer drops from
//! `/proc/net/snmp`).

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;

/// The process-wide start, on the monotonic clock and on the wall clock (which is what the
/// kernel stamps received datagrams with).
static START: OnceLock<(Instant, SystemTime)> = OnceLock::new();

fn start() -> (Instant, SystemTime) {
    *START.get_or_init(|| (Instant::now(), SystemTime::now()))
}

/// Nanoseconds of `at` since the process-wide start (the first call fixes the start).
pub fn nanos_at(at: Instant) -> u64 {
    at.saturating_duration_since(start().0).as_nanos() as u64
}

/// A wall-clock time (a kernel receive timestamp) on the same scale as [`nanos_at`]. A run is
/// short enough for the two clocks not to drift apart measurably.
pub fn nanos_at_wall(at: SystemTime) -> u64 {
    at.duration_since(start().1)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub fn clock_nanos() -> u64 {
    nanos_at(Instant::now())
}

/// Latencies and join times are kept in microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

pub fn record(histogram: &mut Histogram<u64>, value: Duration) {
    let micros = (value.as_micros() as u64).clamp(1, 600_000_000);
    let _ = histogram.record(micros);
}

/// The measured window, in clock nanoseconds: frames stamped (and packets received) inside it count.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    pub fn contains(&self, nanos: u64) -> bool {
        (self.start..self.end).contains(&nanos)
    }

    pub fn seconds(&self) -> f64 {
        (self.end - self.start) as f64 / 1e9
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Audio,
    Video,
}

/// What a subscriber got on one incoming track.
#[derive(Debug, Clone)]
pub struct TrackIn {
    pub publisher: String,
    pub kind: Kind,
    /// Stamp of the first frame received with a stamp inside the window.
    pub first_in_window: Option<u64>,
    /// Frames received whose stamp is inside the window.
    pub frames_in_window: u64,
}

/// Everything one peer measured; merged by the report.
#[derive(Debug)]
pub struct PeerStats {
    pub class: usize,
    /// The class's teacher (publishes the camera).
    pub teacher: bool,
    /// Its media went over ICE-TCP.
    pub tcp: bool,
    pub id: Option<String>,
    /// Send stamps of every frame written inside the window, per kind (publishers only).
    pub sent: BTreeMap<Kind, Vec<u64>>,
    pub tracks: Vec<TrackIn>,
    /// Frame latency (arrival of the frame's last datagram at our socket, as the kernel stamped
    /// it − send stamp) of frames stamped inside the window, per kind.
    pub latency: BTreeMap<Kind, Histogram<u64>>,
    /// How long those frames then waited for this generator to read and decrypt them: our own
    /// delay, kept out of `latency` and reported beside it.
    pub receive_lag: Histogram<u64>,
    /// RTP datagrams received inside the window (first byte 128–191, not an RTCP type).
    pub rtp_packets: u64,
    pub join_started: Instant,
    pub first_media: Option<Instant>,
    pub connected: bool,
    pub keyframe_requests: u64,
    /// Error kinds seen by this peer (each counts once per occurrence).
    pub errors: Vec<String>,
}

impl PeerStats {
    /// What a join bounded by the end of the run gave: its value, or `None` with the reason
    /// recorded as an error (it failed, or the run ended first).
    pub fn joined<T>(
        &mut self,
        outcome: Result<anyhow::Result<T>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        match outcome {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.errors.push(format!("join failed: {e:#}"));
                None
            }
            Err(_) => {
                self.errors
                    .push("join not finished by the end of the run".into());
                None
            }
        }
    }

    pub fn new(plan: &crate::peer::PeerPlan) -> PeerStats {
        PeerStats {
            class: plan.class,
            teacher: plan.teacher,
            tcp: plan.tcp,
            id: None,
            sent: BTreeMap::new(),
            tracks: Vec::new(),
            latency: BTreeMap::new(),
            receive_lag: histogram(),
            rtp_packets: 0,
            join_started: Instant::now(),
            first_media: None,
            connected: false,
            keyframe_requests: 0,
            errors: Vec::new(),
        }
    }

    /// Adds what one PeerConnection of this participant measured (Janus gives a participant one
    /// to publish and one to subscribe). `connected` is left to the caller: it means all of them.
    pub fn absorb(&mut self, other: PeerStats) {
        for (kind, stamps) in other.sent {
            self.sent.entry(kind).or_default().extend(stamps);
        }
        self.tracks.extend(other.tracks);
        for (kind, latency) in other.latency {
            let _ = self
                .latency
                .entry(kind)
                .or_insert_with(histogram)
                .add(&latency);
        }
        let _ = self.receive_lag.add(&other.receive_lag);
        self.rtp_packets += other.rtp_packets;
        self.first_media = match (self.first_media, other.first_media) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.keyframe_requests += other.keyframe_requests;
        self.errors.extend(other.errors);
    }
}

/// RFC 7983 / RFC 5761 demultiplexing: an RTP (not RTCP) datagram.
pub fn is_rtp(datagram: &[u8]) -> bool {
    match datagram {
        [first, second, ..] => (128..=191).contains(first) && !(192..=223).contains(second),
        _ => false,
    }
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
pub fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

/// CPU time of each media shard thread of the classroom server `pid` (threads named `shard-N`),
/// by shard index. Empty if the process is gone.
pub fn shard_threads_cpu(pid: u32) -> BTreeMap<usize, Duration> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return BTreeMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let dir = task.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            let shard = name.trim().strip_prefix("shard-")?.parse().ok()?;
            let cpu = stat_cpu(dir.join("stat").to_str()?).ok()?;
            Some((shard, cpu))
        })
        .collect()
}

/// User + system time in a `/proc/…/stat` file (of a process or of one of its threads).
fn stat_cpu(path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {path} (is the process running?): {e}"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow::anyhow!("{path}: unexpected format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: field 3 is index 0, so utime (14) and stime (15) are 11 and 12.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("{path}: no field {}", i + 3))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_micros(
        total * 1_000_000 / clock_ticks_per_second(),
    ))
}

/// `USER_HZ` (`getconf CLK_TCK`); 100 on every Linux this runs on, asked once to be sure.
fn clock_ticks_per_second() -> u64 {
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|hz| *hz > 0)
            .unwrap_or(100)
    })
}

/// The machine-wide count of UDP datagrams dropped for want of socket buffer space
/// (`RcvbufErrors` in `/proc/net/snmp`): drops on loopback that are nobody's forwarding fault.
pub fn udp_rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names = udp.next()?;
    let values = udp.next()?;
    let index = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(index)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_dtls() {
        assert!(is_rtp(&[0x80, 96, 0, 1]));
        assert!(is_rtp(&[0x90, 0xE0, 0, 1])); // marker bit set, pt 96
        assert!(!is_rtp(&[0x80, 200, 0, 6])); // RTCP SR
        assert!(!is_rtp(&[0x81, 205, 0, 4])); // RTCP transport feedback
        assert!(!is_rtp(&[0x00, 0x01, 0, 0])); // STUN
        assert!(!is_rtp(&[22, 0xfe, 0xfd])); // DTLS
    }

    #[test]
    fn own_cpu_time_is_readable() {
        let cpu = process_cpu(std::process::id()).expect("own stat");
        assert!(cpu < Duration::from_secs(3600));
    }

    #[test]
    fn threads_named_like_shards_are_found_with_their_cpu() {
        let (started, ready) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("shard-7".into())
            .spawn(move || {
                let spin = std::time::Instant::now();
                while spin.elapsed() < Duration::from_millis(30) {
                    std::hint::black_box(0u64);
                }
                started.send(()).expect("ready");
                let _ = stopped.recv();
            })
            .expect("thread");
        ready.recv().expect("spun");
        let shards = shard_threads_cpu(std::process::id());
        stop.send(()).expect("stop");
        thread.join().expect("joined");
        assert_eq!(shards.keys().copied().collect::<Vec<_>>(), [7]);
        assert!(shards[&7] < Duration::from_secs(3600));
        assert!(shard_threads_cpu(u32::MAX).is_empty());
    }
}
