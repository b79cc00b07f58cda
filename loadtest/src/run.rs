//! One run (create the classes, ramp the joins, measure a window, leave) and the capacity search.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::{Args, SETTLE};
use crate::measure::{self, nanos_at, PeerStats, Window};
use crate::media::OpusLoop;
use crate::peer::{PeerPlan, RunContext};
use crate::report::{Capacity, Report, Samples};
use crate::target::Sfu;

/// After the run ends, how long peers get to leave before they are abandoned.
pub const TEARDOWN: Duration = Duration::from_secs(3);
/// Pause between capacity steps, so the server has freed the previous step's classes.
const BETWEEN_STEPS: Duration = Duration::from_secs(1);

/// What stays the same across runs: the encoded Opus loop and the video filler.
#[derive(Debug)]
pub struct Generator {
    pub opus: Arc<OpusLoop>,
    pub filler: Arc<[u8]>,
}

impl Generator {
    /// Encodes the audio once for every run of this process.
    pub fn new() -> anyhow::Result<Generator> {
        Ok(Generator {
            opus: OpusLoop::encode()?,
            filler: crate::media::video_filler(),
        })
    }
}

/// Runs `classes` classes for `args.duration`; `Err` only when the server cannot be used at all.
pub async fn run_once<T: Sfu>(
    args: &Args,
    classes: usize,
    target: &T,
    generator: &Generator,
) -> anyhow::Result<Report> {
    let mut made = Vec::with_capacity(classes);
    for _ in 0..classes {
        made.push(Arc::new(target.create_class(args).await.with_context(
            || format!("cannot create a class on {}", target.describe()),
        )?));
    }
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + args.duration;
    let window_start = start + args.ramp_time(classes) + args.warmup;
    let window_end = end - SETTLE;
    let window = Window {
        start: nanos_at(window_start),
        end: nanos_at(window_end),
    };
    let ctx = Arc::new(RunContext {
        opus: generator.opus.clone(),
        filler: generator.filler.clone(),
        camera: args.camera(),
        window,
        end,
    });
    // Teachers first, then pupils round-robin over the classes, so every class fills together.
    let mut plans = Vec::new();
    for class in 0..classes {
        plans.push(PeerPlan {
            class,
            name: format!("Teacher {class}"),
            teacher: true,
            publish_audio: true,
            publish_video: true,
            tcp: args.over_tcp(class, 0),
            join_at: start,
        });
    }
    for pupil in 0..args.pupils {
        for class in 0..classes {
            plans.push(PeerPlan {
                class,
                name: format!("Pupil {class}.{pupil}"),
                teacher: false,
                publish_audio: pupil < args.talkers,
                publish_video: false,
                tcp: args.over_tcp(class, pupil + 1),
                join_at: start,
            });
        }
    }
    let every = Duration::from_secs_f64(1.0 / args.ramp_rate);
    let tasks: Vec<_> = plans
        .into_iter()
        .enumerate()
        .map(|(i, mut plan)| {
            plan.join_at = start + every * i as u32;
            let join_at = plan.join_at;
            let class = made[plan.class].clone();
            let participant = target.participant(plan, class, ctx.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(join_at.into()).await;
                participant.await
            })
        })
        .collect();
    let samples = sample_window(target, window_start, window_end).await;
    let mut stats = Vec::with_capacity(tasks.len());
    let mut abandoned = 0;
    let give_up = end + TEARDOWN;
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(give_up.into(), task).await {
            Ok(Ok(peer_stats)) => stats.push(peer_stats),
            Ok(Err(_)) | Err(_) => {
                abort.abort();
                abandoned += 1;
            }
        }
    }
    let mut report = Report::build(args, classes, window, &samples, stats);
    if abandoned > 0 {
        report.add_error(format!(
            "peer task did not finish in time ({abandoned} peers)"
        ));
    }
    Ok(report)
}

/// Server CPU, own CPU, server datagram counter and UDP buffer drops at both ends of the window.
async fn sample_window<T: Sfu>(target: &T, start: Instant, end: Instant) -> Samples {
    tokio::time::sleep_until(start.into()).await;
    let first = sample(target).await;
    tokio::time::sleep_until(end.into()).await;
    let last = sample(target).await;
    Samples { first, last }
}

async fn sample<T: Sfu>(target: &T) -> crate::report::Sample {
    crate::report::Sample {
        at: Instant::now(),
        server_cpu: target.pid().and_then(|pid| measure::process_cpu(pid).ok()),
        own_cpu: measure::process_cpu(std::process::id()).ok(),
        server: target.server_counters().await,
        shard_cpu: target
            .pid()
            .map(measure::shard_threads_cpu)
            .unwrap_or_default(),
        udp_rcvbuf_errors: measure::udp_rcvbuf_errors(),
    }
}

/// Adds classes step by step until a step fails the limits; the last step that held is the capacity.
pub async fn find_capacity<T: Sfu>(
    args: &Args,
    target: &T,
    generator: &Generator,
) -> anyhow::Result<Capacity> {
    let mut capacity = Capacity::new(args);
    let mut classes = args.classes;
    while classes <= args.max_classes {
        let report = run_once(args, classes, target, generator).await?;
        let verdict = capacity.judge(&report);
        eprintln!(
            "loadtest: {classes} classes: loss {:.4}, p99 {:.2} ms, errors {}: {}",
            report.loss_ratio,
            report.latency_ms.p99,
            report.errors,
            verdict.as_deref().unwrap_or("held")
        );
        let held = verdict.is_none();
        capacity.steps.push(report);
        if !held {
            capacity.stopped_by = verdict;
            break;
        }
        capacity.capacity_classes = Some(classes);
        classes += args.step;
        tokio::time::sleep(BETWEEN_STEPS).await;
    }
    if capacity.stopped_by.is_none() {
        capacity.stopped_by = Some(format!("reached --max-classes {}", args.max_classes));
    }
    Ok(capacity)
}

/// Every peer's latency histogram for `kind` (or all kinds), merged.
pub fn merge_latency(
    stats: &[PeerStats],
    kind: Option<measure::Kind>,
) -> hdrhistogram::Histogram<u64> {
    let mut all = measure::histogram();
    for (_, h) in stats
        .iter()
        .flat_map(|s| s.latency.iter())
        .filter(|(k, _)| kind.is_none_or(|want| **k == want))
    {
        let _ = all.add(h);
    }
    all
}

/// Every peer's receive-lag histogram, merged.
pub fn merge_receive_lag(stats: &[PeerStats]) -> hdrhistogram::Histogram<u64> {
    let mut all = measure::histogram();
    for s in stats {
        let _ = all.add(&s.receive_lag);
    }
    all
}
