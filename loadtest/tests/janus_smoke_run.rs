//! A short real run against Janus VideoRoom: the load test configures and starts Janus (Debian's
//! `janus`, which `scripts/test.sh` installs), one class of three pupils (one talking) joins with
//! the Janus API and ICE/DTLS/SRTP, and the JSON report shows media forwarded without loss or
//! errors. Janus must be gone afterwards, and also after a Ctrl-C in the middle of a run.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn one_small_class_gets_media_through_janus() {
    let run = common::run_with_report(
        "loadtest-janus",
        &[
            "--target",
            "janus",
            "--classes",
            "1",
            "--pupils",
            "3",
            "--talkers",
            "1",
            "--warmup",
            "1s",
            "--duration",
            "3s",
        ],
        Duration::from_secs(20),
    );
    let (report, text, number) = (&run.report, &run.text, |key: &str| run.number(key));
    assert_eq!(number("participants"), 4.0);
    assert_eq!(number("connected"), 4.0, "{text}");
    assert!(number("forwarded_packets_per_s") > 0.0, "{text}");
    assert!(number("loss_ratio") < 0.05, "{text}");
    assert_eq!(number("errors"), 0.0, "{text}");
    assert!(number("sfu_cpu_us_per_forwarded_packet") > 0.0, "{text}");
    assert!(report["latency_ms"]["p99"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
    assert!(report["join_to_first_media_ms"]["p50"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
    let pid = janus_pid(&run.stderr).expect("the pid of Janus in the log");
    assert!(!process_exists(pid), "Janus {pid} outlived the run");
}

#[test]
fn ctrl_c_stops_janus_too() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args([
            "--target",
            "janus",
            "--pupils",
            "2",
            "--talkers",
            "0",
            "--duration",
            "30s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadtest runs");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let pid = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| janus_pid(&line))
        .expect("the pid of Janus in the log");
    assert!(process_exists(pid));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let status = child.wait().expect("loadtest exits");
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!process_exists(pid), "Janus {pid} outlived Ctrl-C");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("loadtest-janus-{}-", child.id()))
        })
        .collect();
    assert!(left.is_empty(), "Janus's directory outlived Ctrl-C");
}

/// `… Janus VideoRoom at ws://… (pid N); …`
fn janus_pid(log: &str) -> Option<u32> {
    let line = log.lines().find(|l| l.contains("Janus VideoRoom at"))?;
    let rest = line.split("(pid ").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

/// Alive or a zombie nobody reaped (both mean it was left behind).
fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
