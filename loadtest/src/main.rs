//! `loadtest`: simulated classes against a classroom server on this machine. See `--help`.
//!
//! Exit codes: 0 the run completed (its errors, if any, are in the report); 1 the server could not
//! be started or reached, or the JSON could not be written; 2 bad arguments; 3 the hard deadline
//! passed (the server we spawned is killed first).

mod cli;
mod measure;
mod media;
mod peer;
mod report;
mod run;
mod server;
mod signalling;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::Args;
use crate::run::{Generator, TEARDOWN};
use crate::server::Target;

/// Per run, beyond `--duration` and the teardown: creating the classes and starting up.
const SETUP_ALLOWANCE: Duration = Duration::from_secs(6);

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = args.validate() {
        eprintln!("loadtest: error: {e:#}");
        return ExitCode::from(2);
    }
    measure::clock_nanos(); // fixes the process-wide clock's origin
    let generator = match Generator::new() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("loadtest: cannot prepare the media: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let target = match Target::from_args(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    start_watchdog(&args, &target);
    eprintln!(
        "loadtest: server {} (pid {}); camera {} kbit/s VP8-shaped at {} fps, keyframe every {:?} \
         and on request; mic: real Opus, {} bytes/frame on average",
        target.addr.http,
        target.pid.map_or("unknown".into(), |p| p.to_string()),
        args.video_kbps,
        args.fps,
        args.keyframe_every,
        generator.opus.mean_len()
    );
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
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadtest: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        if args.find_capacity {
            let capacity = run::find_capacity(&args, &target, &generator).await?;
            for step in &capacity.steps {
                println!("--- {} classes", step.classes);
                step.print();
            }
            match capacity.capacity_classes {
                Some(n) => println!(
                    "capacity: {n} classes held (loss ≤ {}, p99 ≤ {} ms, no errors); stopped by {}",
                    args.max_loss,
                    args.max_p99_ms,
                    capacity.stopped_by.as_deref().unwrap_or("-")
                ),
                None => println!(
                    "capacity: not even {} classes held ({})",
                    args.classes,
                    capacity.stopped_by.as_deref().unwrap_or("-")
                ),
            }
            anyhow::Ok(serde_json::to_string_pretty(&capacity)?)
        } else {
            let report = run::run_once(&args, args.classes, &target, &generator).await?;
            report.print();
            anyhow::Ok(serde_json::to_string_pretty(&report)?)
        }
    });
    // Peers still leaving are dropped here; then the server we spawned is stopped.
    runtime.shutdown_timeout(Duration::from_millis(200));
    let json = match outcome {
        Ok(json) => json,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, json + "\n") {
            eprintln!("loadtest: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    drop(target);
    ExitCode::SUCCESS
}

/// Ends the process (and the server it spawned) if it overstays: every run is bounded.
fn start_watchdog(args: &Args, target: &Target) {
    let runs = if args.find_capacity {
        (args.max_classes - args.classes) / args.step + 1
    } else {
        1
    };
    let per_run = args.duration + TEARDOWN + SETUP_ALLOWANCE;
    let limit = per_run * runs as u32 + Duration::from_secs(3);
    let server = target.spawned.as_ref().map(|s| s.killer());
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("loadtest: hard deadline of {limit:?} passed; stopping");
        if let Some(server) = server {
            let mut child = server.lock().unwrap_or_else(|e| e.into_inner());
            let _ = child.kill();
            let _ = child.wait();
        }
        std::process::exit(3);
    });
}
