//! `loadtest`: simulated classes against a classroom server on this machine, against Janus
//! VideoRoom, or both side by side. See `--help`.
//!
//! Exit codes: 0 the run completed (its errors, if any, are in the report); 1 a server could not
//! be started or reached, or the JSON could not be written; 2 bad arguments; 3 the hard deadline
//! passed; 130 interrupted (SIGINT or SIGTERM). Servers we started are stopped in every case.

mod cli;
mod compare;
mod measure;
mod media;
mod peer;
mod process;
mod report;
mod run;
mod target;

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::cli::Args;
use crate::compare::{Outcome, SideBySide};
use crate::run::{Generator, TEARDOWN};
use crate::target::classroom::Classroom;
use crate::target::janus::Janus;
use crate::target::{Kind, Sfu};

/// Per run, beyond `--duration` and the teardown: creating the classes and starting up.
const SETUP_ALLOWANCE: Duration = Duration::from_secs(6);

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = args.validate() {
        eprintln!("loadtest: error: {e:#}");
        return ExitCode::from(2);
    }
    if let Err(e) = process::stop_on_signals() {
        eprintln!("loadtest: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    measure::clock_nanos(); // fixes the process-wide clock's origin
    let generator = match Generator::new() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("loadtest: cannot prepare the media: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    start_watchdog();
    let kinds = args.target.kinds();
    let mut outcomes = Vec::with_capacity(kinds.len());
    for &kind in kinds {
        if kinds.len() > 1 {
            println!("=== {}", kind.name());
        }
        let outcome = match kind {
            Kind::Classroom => {
                Classroom::from_args(&args).and_then(|target| run_target(&args, target, &generator))
            }
            Kind::Janus => {
                Janus::start(&args).and_then(|target| run_target(&args, target, &generator))
            }
        };
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                eprintln!("loadtest: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    let json = match outcomes.as_slice() {
        [one] => serde_json::to_string_pretty(one),
        [classroom, janus] => {
            let table = SideBySide::new(classroom, janus);
            table.print();
            serde_json::to_string_pretty(&serde_json::json!({
                "classroom": classroom,
                "janus": janus,
                "side_by_side": table,
            }))
        }
        _ => unreachable!("one or two targets"),
    };
    if let Some(path) = &args.json {
        let written = json
            .map_err(anyhow::Error::from)
            .and_then(|json| Ok(std::fs::write(path, json + "\n")?));
        if let Err(e) = written {
            eprintln!("loadtest: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Loads `target` (a run, or a capacity search) on a runtime of its own, prints the summary, and
/// stops the target's server (dropped here) before returning.
fn run_target<T: Sfu>(args: &Args, target: T, generator: &Generator) -> anyhow::Result<Outcome> {
    eprintln!(
        "loadtest: server {} (pid {}); camera {} VP8-shaped at {} fps, keyframe every {:?} \
         and on request; mic: real Opus, {} bytes/frame on average",
        target.describe(),
        target.pid().map_or("unknown".into(), |p| p.to_string()),
        describe_camera(&args.camera()),
        args.fps,
        args.keyframe_every,
        generator.opus.mean_len()
    );
    arm_watchdog(args);
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = runtime.map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))?;
    let outcome = runtime.block_on(async {
        if args.find_capacity {
            run::find_capacity(args, &target, generator)
                .await
                .map(Outcome::Capacity)
        } else {
            run::run_once(args, args.classes, &target, generator)
                .await
                .map(|report| Outcome::Run(Box::new(report)))
        }
    });
    // Peers still leaving are dropped here; then the server we started is stopped.
    runtime.shutdown_timeout(Duration::from_millis(200));
    drop(target);
    let outcome = outcome?;
    outcome.print();
    Ok(outcome)
}

/// When the current target's runs must be over (set as each target starts).
static DEADLINE: Mutex<Option<(Instant, Duration)>> = Mutex::new(None);

/// Gives the target about to run its time: every run of it bounded, plus a margin.
fn arm_watchdog(args: &Args) {
    let runs = if args.find_capacity {
        (args.max_classes - args.classes) / args.step + 1
    } else {
        1
    };
    let per_run = args.duration + TEARDOWN + SETUP_ALLOWANCE;
    let limit = per_run * runs as u32 + Duration::from_secs(3);
    *DEADLINE.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now() + limit, limit));
}

/// Ends the process (and the servers it started) if a target overstays: every run is bounded.
fn start_watchdog() {
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(100));
        let deadline = *DEADLINE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, limit)) = deadline {
            if Instant::now() >= at {
                eprintln!("loadtest: hard deadline of {limit:?} passed; stopping");
                process::stop_all();
                std::process::exit(3);
            }
        }
    });
}

/// "150+500+1500 kbit/s (3 simulcast layers)", or "1500 kbit/s" without simulcast.
fn describe_camera(layers: &[media::CameraLayer]) -> String {
    let kbps: Vec<String> = layers.iter().map(|l| l.shape.kbps.to_string()).collect();
    match layers.len() {
        1 => format!("{} kbit/s", kbps.join("")),
        n => format!("{} kbit/s ({n} simulcast layers)", kbps.join("+")),
    }
}
