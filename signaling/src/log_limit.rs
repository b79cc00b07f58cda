//! Warnings a remote peer can cause are rate-limited per call site.
//!
//! str0m and its DTLS stack warn about what peers send them (an inconsistent m-line, a PT change,
//! a DTLS record out of place), and so do parts of this server (a refused class). A pupil
//! repeating the same bad message at the allowed message rate would otherwise write a log line
//! each time: the disk fills and the lines that matter drown. So each `warn!`/`error!` call site
//! logs at most [`BURST`] events per [`WINDOW`]; the rest are counted
//! (`classroom_log_suppressed_total` in `/metrics`) and summed up once per window by
//! [`report_suppressed`], naming the call site but nothing the peer sent.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Events one call site may log per window.
pub const BURST: u32 = 10;
/// The window; also how often the suppressed ones are reported.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Warnings and errors not logged since the process started.
static SUPPRESSED_TOTAL: AtomicU64 = AtomicU64::new(0);

static BUDGETS: LazyLock<Mutex<Budgets<Identifier>>> =
    LazyLock::new(|| Mutex::new(Budgets::new(BURST, WINDOW)));

/// Warnings and errors suppressed so far (for `/metrics`).
pub fn suppressed_total() -> u64 {
    SUPPRESSED_TOTAL.load(Ordering::Relaxed)
}

/// Logs one line per call site that had events suppressed since the last report. Called every
/// [`WINDOW`] and at shutdown by the binary.
pub fn report_suppressed() {
    let drained = BUDGETS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain_suppressed();
    for (site, suppressed) in drained {
        tracing::warn!(
            target: "classroom::log_limit",
            site,
            suppressed,
            "repeated warnings were not logged (at most {BURST} a minute from one place)"
        );
    }
}

/// The `tracing` layer: put it in the subscriber and every WARN/ERROR event is checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct WarningLimiter;

impl<S: Subscriber> Layer<S> for WarningLimiter {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        // In `tracing`, more verbose levels compare greater: INFO and below pass untouched.
        if *meta.level() > Level::WARN {
            return true;
        }
        let site = || match (meta.file(), meta.line()) {
            (Some(file), Some(line)) => format!("{} ({file}:{line})", meta.target()),
            // Events bridged from the `log` crate (the DTLS stack) share one call site per level.
            _ => meta.target().to_owned(),
        };
        let allowed = BUDGETS.lock().unwrap_or_else(|p| p.into_inner()).allow(
            meta.callsite(),
            site,
            Instant::now(),
        );
        if !allowed {
            SUPPRESSED_TOTAL.fetch_add(1, Ordering::Relaxed);
        }
        allowed
    }
}

/// A fixed window per key: `burst` events pass, the rest are counted.
#[derive(Debug)]
pub struct Budgets<K> {
    burst: u32,
    window: Duration,
    sites: HashMap<K, Budget>,
}

#[derive(Debug)]
struct Budget {
    site: String,
    window_start: Instant,
    used: u32,
    suppressed: u64,
}

impl<K: Hash + Eq> Budgets<K> {
    pub fn new(burst: u32, window: Duration) -> Self {
        Budgets {
            burst,
            window,
            sites: HashMap::new(),
        }
    }

    /// Whether one more event from `key` may be logged at `now`. The map holds one entry per
    /// call site in the binary, so it is bounded by the code, not by what peers send.
    pub fn allow(&mut self, key: K, site: impl FnOnce() -> String, now: Instant) -> bool {
        let budget = self.sites.entry(key).or_insert_with(|| Budget {
            site: site(),
            window_start: now,
            used: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(budget.window_start) >= self.window {
            budget.window_start = now;
            budget.used = 0;
        }
        if budget.used < self.burst {
            budget.used += 1;
            true
        } else {
            budget.suppressed += 1;
            false
        }
    }

    /// Each site with events suppressed since the last call, and how many.
    pub fn drain_suppressed(&mut self) -> Vec<(String, u64)> {
        self.sites
            .values_mut()
            .filter(|b| b.suppressed > 0)
            .map(|b| (b.site.clone(), std::mem::take(&mut b.suppressed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_site_gets_its_burst_per_window_and_the_rest_are_counted() {
        let mut budgets = Budgets::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let site = || "sfu (x.rs:1)".to_owned();
        let passed = (0..10).filter(|_| budgets.allow(1, site, t0)).count();
        assert_eq!(passed, 3);
        assert!(
            budgets.allow(2, || "other".into(), t0),
            "another site has its own budget"
        );
        assert_eq!(
            budgets.drain_suppressed(),
            vec![("sfu (x.rs:1)".to_owned(), 7)]
        );
        assert!(budgets.drain_suppressed().is_empty(), "reported once");
        assert!(!budgets.allow(1, site, t0 + Duration::from_secs(59)));
        assert!(
            budgets.allow(1, site, t0 + Duration::from_secs(60)),
            "a new window"
        );
    }
}
