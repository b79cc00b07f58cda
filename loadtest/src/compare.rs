//! `--target both`: the classroom server and Janus under the same scenario, side by side, with the
//! ratio classroom ÷ janus for each number (below 1: classroom's is smaller).

use serde::Serialize;

use crate::report::{Capacity, Report};

/// What one target gave: one run, or a capacity search.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Run(Box<Report>),
    Capacity(Capacity),
}

impl Outcome {
    /// The summary on stdout, as a single-target run prints it.
    pub fn print(&self) {
        match self {
            Outcome::Run(report) => report.print(),
            Outcome::Capacity(capacity) => capacity.print(),
        }
    }

    /// The run at `classes` classes (a capacity search's step), else the only run.
    fn at(&self, classes: usize) -> Option<&Report> {
        match self {
            Outcome::Run(report) => Some(report),
            Outcome::Capacity(c) => c.steps.iter().find(|r| r.classes == classes),
        }
    }
}

/// How one number is read from a report.
type Metric = fn(&Report) -> Option<f64>;

/// One line of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    pub metric: &'static str,
    pub classroom: Option<f64>,
    pub janus: Option<f64>,
    /// classroom ÷ janus (`None` when either is missing or janus's is 0).
    pub ratio: Option<f64>,
}

/// The comparison written to the JSON and printed.
#[derive(Debug, Serialize)]
pub struct SideBySide {
    /// The class count the per-run numbers are from (with --find-capacity: the most classes both
    /// held, or the first step if either held none).
    pub classes: usize,
    pub rows: Vec<Row>,
}

impl SideBySide {
    /// The table for one outcome of each target.
    pub fn new(classroom: &Outcome, janus: &Outcome) -> SideBySide {
        let mut rows = Vec::new();
        let classes = match (classroom, janus) {
            (Outcome::Capacity(a), Outcome::Capacity(b)) => {
                let held = |c: &Capacity| c.capacity_classes.map(|n| n as f64);
                rows.push(row("classes held (--find-capacity)", held(a), held(b)));
                let first = a.steps.first().map_or(0, |r| r.classes);
                a.capacity_classes
                    .zip(b.capacity_classes)
                    .map_or(first, |(x, y)| x.min(y))
            }
            (Outcome::Run(r), _) | (_, Outcome::Run(r)) => r.classes,
        };
        let (a, b) = (classroom.at(classes), janus.at(classes));
        let pick = |f: Metric| (a.and_then(f), b.and_then(f));
        let metrics: [(&'static str, Metric); 12] = [
            ("forwarded RTP packets/s", |r| {
                Some(r.forwarded_packets_per_s)
            }),
            ("server CPU µs per forwarded packet", |r| {
                r.sfu_cpu_us_per_forwarded_packet
            }),
            ("server CPU %", |r| r.sfu_cpu_percent),
            ("latency p50 ms", |r| Some(r.latency_ms.p50)),
            ("latency p99 ms", |r| Some(r.latency_ms.p99)),
            ("latency max ms", |r| Some(r.latency_ms.max)),
            ("generator receive lag p99 ms", |r| {
                Some(r.generator_receive_lag_ms.p99)
            }),
            ("loss ratio", |r| Some(r.loss_ratio)),
            ("join → first media p50 ms", |r| {
                Some(r.join_to_first_media_ms.p50)
            }),
            ("join → first media p99 ms", |r| {
                Some(r.join_to_first_media_ms.p99)
            }),
            ("errors", |r| Some(r.errors as f64)),
            ("loadtest CPU %", |r| r.loadtest_cpu_percent),
        ];
        for (metric, f) in metrics {
            let (x, y) = pick(f);
            rows.push(row(metric, x, y));
        }
        SideBySide { classes, rows }
    }

    /// The table on stdout.
    pub fn print(&self) {
        println!("=== side by side at {} classes", self.classes);
        println!(
            "{:<36} {:>12} {:>12} {:>18}",
            "", "classroom", "janus", "classroom ÷ janus"
        );
        let cell = |v: Option<f64>| v.map_or("n/a".to_owned(), format_number);
        for r in &self.rows {
            println!(
                "{:<36} {:>12} {:>12} {:>18}",
                r.metric,
                cell(r.classroom),
                cell(r.janus),
                r.ratio.map_or("–".to_owned(), |v| format!("{v:.2}"))
            );
        }
    }
}

fn row(metric: &'static str, classroom: Option<f64>, janus: Option<f64>) -> Row {
    let ratio = classroom
        .zip(janus)
        .filter(|(_, j)| *j != 0.0)
        .map(|(c, j)| c / j);
    Row {
        metric,
        classroom,
        janus,
        ratio,
    }
}

/// Few digits for big numbers, more for small ones (a loss ratio of 0.0004 must not print as 0).
fn format_number(v: f64) -> String {
    if v == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.5}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_classroom_over_janus_and_skip_zero() {
        let r = row("x", Some(10.0), Some(40.0));
        assert_eq!(r.ratio, Some(0.25));
        assert_eq!(row("loss", Some(0.0), Some(0.0)).ratio, None);
        assert_eq!(row("cpu", None, Some(3.0)).ratio, None);
    }

    #[test]
    fn numbers_keep_their_significant_digits() {
        assert_eq!(format_number(50123.4), "50123");
        assert_eq!(format_number(17.234), "17.23");
        assert_eq!(format_number(0.537), "0.54");
        assert_eq!(format_number(0.00042), "0.00042");
        assert_eq!(format_number(0.0), "0");
    }
}
