//! What the load test reads from the classroom server's `/metrics`: the datagrams it sent and how
//! long it held the datagrams it received (`classroom_shard_hold_seconds`), summed over shards,
//! and each shard's packets out per transport (UDP datagrams, ICE-TCP frames).

use sfu::hold_time::{HoldHistogram, BUCKET_BOUNDS_US};

use crate::target::{ServerCounters, ShardCounters};

const DATAGRAMS_OUT: &str = "classroom_shard_datagrams_out_total";
const TCP_FRAMES_OUT: &str = "classroom_shard_tcp_frames_out_total";
const HOLD_BUCKET: &str = "classroom_shard_hold_seconds_bucket";
const HOLD_SUM: &str = "classroom_shard_hold_seconds_sum";

/// Reads the counters out of a Prometheus text page.
pub fn server_counters(page: &str) -> ServerCounters {
    let mut datagrams_out = 0;
    let mut shards = std::collections::BTreeMap::<usize, ShardCounters>::new();
    // Cumulative counts per bucket bound, summed over shards; the last slot is `+Inf`.
    let mut cumulative = [0u64; BUCKET_BOUNDS_US.len() + 1];
    let mut sum_seconds = 0.0;
    for line in page.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let shard = || label(labels, "shard").and_then(|s| s.parse::<usize>().ok());
        if name == DATAGRAMS_OUT {
            let count = value.parse::<u64>().unwrap_or(0);
            datagrams_out += count;
            if let Some(shard) = shard() {
                shards.entry(shard).or_default().udp_datagrams_out += count;
            }
        } else if name == TCP_FRAMES_OUT {
            if let (Some(shard), Ok(count)) = (shard(), value.parse::<u64>()) {
                shards.entry(shard).or_default().tcp_frames_out += count;
            }
        } else if name == HOLD_BUCKET {
            let slot = match label(labels, "le") {
                Some("+Inf") => Some(BUCKET_BOUNDS_US.len()),
                Some(le) => le.parse::<f64>().ok().and_then(|seconds| {
                    let us = (seconds * 1e6).round() as u64;
                    BUCKET_BOUNDS_US.iter().position(|bound| *bound == us)
                }),
                None => None,
            };
            if let (Some(slot), Ok(count)) = (slot, value.parse::<u64>()) {
                cumulative[slot] += count;
            }
        } else if name == HOLD_SUM {
            sum_seconds += value.parse::<f64>().unwrap_or(0.0);
        }
    }
    let mut hold = HoldHistogram::default();
    let mut below = 0;
    for (slot, total) in cumulative.iter().enumerate() {
        hold.counts[slot] = total.saturating_sub(below);
        below = below.max(*total);
    }
    hold.sum_us = (sum_seconds * 1e6).round() as u64;
    ServerCounters {
        datagrams_out,
        shards,
        hold,
    }
}

/// The value of `key` in `a="x",key="y"`.
fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels
        .trim_end_matches('}')
        .split(',')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix("=\""))
        .map(|value| value.trim_end_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_and_hold_times_are_summed_over_shards() {
        let page = "\
# TYPE classroom_shard_datagrams_out_total counter
classroom_shard_datagrams_out_total{shard=\"0\"} 100
classroom_shard_datagrams_out_total{shard=\"1\"} 23
classroom_shard_tcp_frames_out_total{shard=\"1\"} 40
# TYPE classroom_shard_hold_seconds histogram
classroom_shard_hold_seconds_bucket{shard=\"0\",le=\"0.0001\"} 5
classroom_shard_hold_seconds_bucket{shard=\"0\",le=\"0.00025\"} 8
classroom_shard_hold_seconds_bucket{shard=\"0\",le=\"0.0005\"} 10
classroom_shard_hold_seconds_bucket{shard=\"0\",le=\"+Inf\"} 10
classroom_shard_hold_seconds_sum{shard=\"0\"} 0.002
classroom_shard_hold_seconds_bucket{shard=\"1\",le=\"0.0001\"} 1
classroom_shard_hold_seconds_bucket{shard=\"1\",le=\"0.00025\"} 1
classroom_shard_hold_seconds_bucket{shard=\"1\",le=\"0.0005\"} 1
classroom_shard_hold_seconds_bucket{shard=\"1\",le=\"+Inf\"} 2
classroom_shard_hold_seconds_sum{shard=\"1\"} 3.5
classroom_shard_hold_seconds_count{shard=\"1\"} 2
";
        let counters = server_counters(page);
        assert_eq!(counters.datagrams_out, 123);
        let shard = |udp_datagrams_out, tcp_frames_out| ShardCounters {
            udp_datagrams_out,
            tcp_frames_out,
        };
        assert_eq!(counters.shards[&0], shard(100, 0));
        assert_eq!(counters.shards[&1], shard(23, 40));
        let hold = counters.hold;
        assert_eq!(hold.count(), 12);
        assert_eq!(&hold.counts[..3], &[6, 3, 2]);
        assert_eq!(
            hold.counts[BUCKET_BOUNDS_US.len()],
            1,
            "one above every bound"
        );
        assert_eq!(hold.sum_us, 3_502_000);
        assert_eq!(hold.quantile_bound(0.5), Some(Duration::from_micros(100)));
    }

    #[test]
    fn a_page_without_them_reads_as_zero() {
        let counters = server_counters("classroom_classes 3\ngarbage\n");
        assert_eq!(counters.datagrams_out, 0);
        assert_eq!(counters.hold.count(), 0);
    }
}
