//! `/metrics` through the real server, after a teacher and a pupil exchanged media: the per-shard
//! counters moved, and the hold-time histogram (arrival at the shard's socket → what it caused
//! was sent) is a well-formed Prometheus histogram that counted every datagram the shard read.

mod common;

use std::collections::BTreeMap;

use common::peer::teacher_and_pupil_connected;

/// `name{labels} value` lines of one metric family, by their label text.
fn series<'a>(text: &'a str, name: &str) -> BTreeMap<&'a str, f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| {
            let (labels, value) = rest.split_once("} ")?;
            Some((labels, value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_the_media_and_how_long_the_server_held_it() {
    let (server, _class, teacher, pupil) = teacher_and_pupil_connected().await;
    // Stats are published every 250 ms.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, text) = common::http_get(&server, "/metrics").await;
    assert_eq!(status, 200);

    let forwarded = series(&text, "classroom_shard_forwarded_total");
    assert!(forwarded["shard=\"0\""] > 100.0, "{forwarded:?}");
    let datagrams_in = series(&text, "classroom_shard_datagrams_in_total")["shard=\"0\""];

    assert!(text.contains("# TYPE classroom_shard_hold_seconds histogram"));
    let buckets = series(&text, "classroom_shard_hold_seconds_bucket");
    let mut cumulative: Vec<(f64, f64)> = buckets
        .iter()
        .map(|(labels, count)| {
            let le = labels
                .split("le=\"")
                .nth(1)
                .and_then(|rest| rest.strip_suffix('"'))
                .expect("an le label");
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("a number")
            };
            (bound, *count)
        })
        .collect();
    cumulative.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(
        cumulative.len(),
        sfu::hold_time::BUCKET_BOUNDS_US.len() + 1,
        "every bound and +Inf: {buckets:?}"
    );
    assert!(
        cumulative.windows(2).all(|w| w[0].1 <= w[1].1),
        "buckets are cumulative: {cumulative:?}"
    );
    let count = series(&text, "classroom_shard_hold_seconds_count")["shard=\"0\""];
    assert_eq!(cumulative.last().map(|b| b.1), Some(count));
    // Every datagram read was stamped by the kernel and counted (the shard's own wake-ups are
    // zero-length and counted in neither); stats lag a little behind, hence the margin.
    assert!(count > 100.0, "{count}");
    assert!(count <= datagrams_in, "{count} > {datagrams_in}");
    assert!(count >= datagrams_in * 0.8, "{count} ≪ {datagrams_in}");
    let sum = series(&text, "classroom_shard_hold_seconds_sum")["shard=\"0\""];
    assert!(
        sum > 0.0 && sum / count < 1.0,
        "mean hold {} s",
        sum / count
    );

    teacher.leave().await;
    pupil.leave().await;
    server.shutdown().await.expect("shutdown");
}
