//! Command line: the flags, their checks, and the refusal of any server that is not on this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Parser;

use crate::media::{CameraLayer, VideoShape, SIMULCAST_RIDS};
use crate::target::{Choice, Kind};

/// Simulates classes (a teacher with camera and mic, pupils watching, a few pupils talking)
/// against a classroom server on this machine, or Janus VideoRoom, or both side by side, with
/// real signalling and real ICE/DTLS/SRTP.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
pub struct Args {
    /// What to load: the classroom server, Janus VideoRoom (started by the load test), or both
    /// one after the other with a side-by-side table.
    #[arg(long, value_enum, default_value = "classroom")]
    pub target: Choice,
    /// Classroom server to load, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long, conflicts_with = "spawn_server")]
    pub server: Option<String>,
    /// Start this `classroom` binary on ephemeral loopback ports and load it.
    #[arg(long, value_name = "PATH")]
    pub spawn_server: Option<PathBuf>,
    /// Pin the server we start (classroom or Janus) to this CPU (`taskset -c N`).
    #[arg(long, value_name = "N")]
    pub server_cpu: Option<usize>,
    /// Media shards of the spawned server (default: the server's own, one per CPU it may use).
    #[arg(long, value_name = "N", requires = "spawn_server")]
    pub server_shards: Option<usize>,
    /// Pid of the (already running) server, for its CPU time.
    #[arg(long, value_name = "PID", conflicts_with = "spawn_server")]
    pub server_pid: Option<u32>,
    /// Bearer key for `POST /api/rooms` when the server has `admin_key` set.
    #[arg(long, value_name = "KEY")]
    pub admin_key: Option<String>,
    /// Classes to simulate (the first step with --find-capacity).
    #[arg(long, default_value_t = 1)]
    pub classes: usize,
    /// Pupils per class.
    #[arg(long, default_value_t = 30)]
    pub pupils: usize,
    /// Pupils per class who also publish a mic.
    #[arg(long, default_value_t = 2)]
    pub talkers: usize,
    /// Length of each run from the first join (e.g. 20s, 1m, 1500ms).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Joins per second while the classes fill.
    #[arg(long, default_value_t = 20.0)]
    pub ramp_rate: f64,
    /// Time after the last join before measuring starts.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Teacher camera bitrate, kbit/s (of its best simulcast layer).
    #[arg(long, default_value_t = 1500)]
    pub video_kbps: u32,
    /// Simulcast layers the teacher's camera sends (1: no simulcast). Each lower layer has half
    /// the picture size and about a third of the bitrate of the one above.
    #[arg(long, default_value_t = 3)]
    pub simulcast_layers: usize,
    /// Teacher camera frame rate.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Periodic keyframe interval of the camera (keyframes are also sent on request).
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    pub keyframe_every: Duration,
    /// Fraction of the peers whose media goes over ICE-TCP instead of UDP (0–1), spread evenly
    /// over each class's participants (classroom only).
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub tcp_share: f64,
    /// Take `--tcp-share` as whole classes instead of peers inside every class. With one class
    /// per shard (`--server-shards` = `--classes`), each shard then carries one transport only,
    /// and its thread's CPU per packet compares UDP with TCP side by side in one run.
    #[arg(long, requires = "tcp_share")]
    pub tcp_whole_classes: bool,
    /// Runtime worker threads driving all peers (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Add classes step by step until loss or latency exceeds its limit; report the last that held.
    #[arg(long)]
    pub find_capacity: bool,
    /// Classes added per step of --find-capacity.
    #[arg(long, default_value_t = 1)]
    pub step: usize,
    /// Stop --find-capacity at this many classes.
    #[arg(long, default_value_t = 30)]
    pub max_classes: usize,
    /// Largest loss ratio that still holds (--find-capacity).
    #[arg(long, default_value_t = 0.005)]
    pub max_loss: f64,
    /// Largest p99 latency in ms that still holds (--find-capacity).
    #[arg(long, default_value_t = 20.0)]
    pub max_p99_ms: f64,
    /// The Janus binary (default: `janus` from PATH).
    #[arg(long, value_name = "PATH")]
    pub janus: Option<PathBuf>,
    /// Janus's `event_loops`: media threads shared by all handles (0: Janus's own default, a
    /// thread per handle). Default: one per CPU Janus may use, as the classroom server has one
    /// shard per CPU (1 with --server-cpu).
    #[arg(long, value_name = "N")]
    pub janus_event_loops: Option<usize>,
}

/// Leaves the server this long after the window closes so in-flight frames still count.
pub const SETTLE: Duration = Duration::from_millis(500);
const MIN_WINDOW: Duration = Duration::from_secs(1);

impl Args {
    /// The teacher's camera as asked: a 720p stream of `--video-kbps`, in `--simulcast-layers`.
    pub fn camera(&self) -> Vec<CameraLayer> {
        VideoShape {
            kbps: self.video_kbps,
            fps: self.fps,
            keyframe_every: self.keyframe_every,
            width: 1280,
            height: 720,
        }
        .simulcast(self.simulcast_layers)
    }

    /// Checks what clap cannot; the message says what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        let classroom = self.target.kinds().contains(&Kind::Classroom);
        if classroom && self.server.is_none() && self.spawn_server.is_none() {
            bail!("the classroom target needs --server URL or --spawn-server PATH");
        }
        if self.server_cpu.is_some()
            && self.spawn_server.is_none()
            && self.target == Choice::Classroom
        {
            bail!("--server-cpu pins a server we start: give --spawn-server or --target janus");
        }
        if self.classes == 0 {
            bail!("--classes must be at least 1");
        }
        if self.talkers > self.pupils {
            bail!(
                "--talkers ({}) cannot exceed --pupils ({})",
                self.talkers,
                self.pupils
            );
        }
        if !(self.ramp_rate.is_finite() && self.ramp_rate > 0.0) {
            bail!("--ramp-rate must be a positive number of joins per second");
        }
        if self.threads == 0 || self.threads > 64 {
            bail!("--threads must be between 1 and 64");
        }
        if self.fps == 0 || self.fps > 120 || self.video_kbps == 0 {
            bail!("--fps must be 1–120 and --video-kbps positive");
        }
        if !(1..=SIMULCAST_RIDS.len()).contains(&self.simulcast_layers) {
            bail!("--simulcast-layers must be 1, 2 or 3");
        }
        if self.keyframe_every < Duration::from_millis(100) {
            bail!("--keyframe-every must be at least 100ms");
        }
        if self.find_capacity && (self.step == 0 || self.max_classes < self.classes) {
            bail!("--find-capacity needs --step ≥ 1 and --max-classes ≥ --classes");
        }
        if !(0.0..=1.0).contains(&self.tcp_share) {
            bail!("--tcp-share must be within 0–1");
        }
        if self.tcp_share > 0.0 && self.target != Choice::Classroom {
            bail!("--tcp-share is for the classroom target (the Janus run has no ICE-TCP set up)");
        }
        if !(0.0..=1.0).contains(&self.max_loss) || self.max_p99_ms <= 0.0 {
            bail!("--max-loss must be within 0–1 and --max-p99-ms positive");
        }
        let largest = if self.find_capacity {
            self.max_classes
        } else {
            self.classes
        };
        let needed = self.ramp_time(largest) + self.warmup + MIN_WINDOW + SETTLE;
        if self.duration < needed {
            bail!(
                "--duration {:?} is too short: {} joins at {}/s take {:?}, plus {:?} warm-up, \
                 a {:?} minimum window and {:?} settling: use at least {:?} or a faster --ramp-rate",
                self.duration,
                largest * (self.pupils + 1),
                self.ramp_rate,
                self.ramp_time(largest),
                self.warmup,
                MIN_WINDOW,
                SETTLE,
                needed
            );
        }
        if let Some(url) = &self.server {
            loopback_addr(url)?;
        }
        Ok(())
    }

    /// Janus's `event_loops` for this run (see `--janus-event-loops`).
    pub fn janus_event_loops(&self) -> usize {
        self.janus_event_loops.unwrap_or_else(|| {
            if self.server_cpu.is_some() {
                1
            } else {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            }
        })
    }

    /// Whether participant `index` of `class` (0 the teacher, then the pupils) goes over ICE-TCP:
    /// every peer (or class, with `--tcp-whole-classes`) whose rank crosses a multiple of
    /// `1 / --tcp-share`, so the share is exact where it can be and spread evenly.
    pub fn over_tcp(&self, class: usize, index: usize) -> bool {
        let rank = if self.tcp_whole_classes { class } else { index };
        let crossed = |n: usize| (n as f64 * self.tcp_share + 1e-9).floor();
        crossed(rank + 1) > crossed(rank)
    }

    /// From the first join to the last, for `classes` classes.
    pub fn ramp_time(&self, classes: usize) -> Duration {
        let joins = classes * (self.pupils + 1);
        Duration::from_secs_f64(joins.saturating_sub(1) as f64 / self.ramp_rate)
    }
}

/// `20s`, `1500ms`, `2m`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 20s, 1500ms or 2m)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}` (use ms, s or m)"
            ))
        }
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds < 86_400.0) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The socket address of an `http://host[:port]` URL, refused unless the host is loopback
/// (127.0.0.0/8, ::1 or `localhost`): a load test never sends traffic off this machine.
pub fn loopback_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--server must be an http:// URL, got `{url}`"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| anyhow!("bad IPv6 address in `{url}`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port: u16 = match port {
        Some(p) => p
            .parse()
            .map_err(|_| anyhow!("bad port `{p}` in `{url}`"))?,
        None => 80,
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse::<IpAddr>().map_err(|_| {
            anyhow!("refusing server `{host}`: only loopback addresses (127.0.0.0/8, ::1, localhost) may be load-tested")
        })?
    };
    if !ip.is_loopback() {
        bail!("refusing server `{host}`: only loopback addresses (127.0.0.0/8, ::1, localhost) may be load-tested");
    }
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn the_tcp_share_is_spread_over_peers_or_classes() {
        let args = |extra: &[&str]| {
            let mut all = vec!["loadtest", "--spawn-server", "/bin/true"];
            all.extend_from_slice(extra);
            Args::parse_from(all)
        };
        let over = |args: &Args, class: usize| -> Vec<bool> {
            (0..8).map(|index| args.over_tcp(class, index)).collect()
        };
        let none = args(&[]);
        assert_eq!(over(&none, 0), [false; 8]);
        let half = args(&["--tcp-share", "0.5"]);
        assert_eq!(
            over(&half, 3),
            [false, true, false, true, false, true, false, true]
        );
        let quarter = args(&["--tcp-share", "0.25"]);
        assert_eq!(over(&quarter, 0).iter().filter(|t| **t).count(), 2);
        let all = args(&["--tcp-share", "1"]);
        assert_eq!(over(&all, 5), [true; 8]);
        let classes = args(&["--tcp-share", "0.5", "--tcp-whole-classes"]);
        assert_eq!(over(&classes, 0), [false; 8]);
        assert_eq!(over(&classes, 1), [true; 8]);
        for refused in [
            &["--tcp-share", "1.5"][..],
            &["--tcp-share=-0.1"],
            &["--tcp-share", "0.5", "--target", "janus"],
        ] {
            assert!(args(refused).validate().is_err(), "{refused:?}");
        }
        assert!(half.validate().is_ok());
    }

    #[test]
    fn only_loopback_servers_are_accepted() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.8.7:1/",
            "http://localhost:9000/x",
            "http://[::1]:8080",
        ] {
            assert!(loopback_addr(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://10.0.0.1:8080",
            "http://192.168.1.2",
            "http://example.org",
            "http://[2001:db8::1]:80",
            "http://0.0.0.0:8080",
            "ws://127.0.0.1:8080",
        ] {
            assert!(loopback_addr(refused).is_err(), "{refused}");
        }
    }
}
