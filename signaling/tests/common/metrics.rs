//! Reading `/metrics` the way a monitoring system does, to check what the node holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use signaling::Server;

/// Every series of `/metrics`, summed over its labels (shards), by name.
pub async fn totals(server: &Server) -> BTreeMap<String, f64> {
    let (status, body) = super::http_get(server, "/metrics").await;
    assert_eq!(status, 200, "metrics answer: {body}");
    let mut totals = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series);
        let value: f64 = value.parse().expect("a metric value is a number");
        *totals.entry(name.to_owned()).or_default() += value;
    }
    totals
}

/// One labelled series of `/metrics` summed over its other labels (shards): `name{…label…}`,
/// `label` written as it appears, e.g. `reason="no_right"`.
pub async fn labelled(server: &Server, name: &str, label: &str) -> f64 {
    let (status, body) = super::http_get(server, "/metrics").await;
    assert_eq!(status, 200, "metrics answer: {body}");
    body.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| line.contains(label))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// What a node holds for classes and participants: the gauges that must come back to their
/// resting value once everyone is gone.
pub const HELD: [&str; 11] = [
    "classroom_check_probes",
    "classroom_classes",
    "classroom_participants",
    "classroom_shard_rooms",
    "classroom_shard_media_sessions",
    "classroom_shard_published_tracks",
    "classroom_shard_subscriptions",
    "classroom_shard_demux_entries",
    "classroom_shard_tcp_connections",
    "classroom_shard_tcp_unauthenticated_connections",
    "classroom_shard_tcp_queued_bytes",
];

/// The [`HELD`] gauges now.
pub async fn held(server: &Server) -> BTreeMap<&'static str, f64> {
    let totals = totals(server).await;
    HELD.iter()
        .map(|name| (*name, totals.get(*name).copied().unwrap_or(f64::NAN)))
        .collect()
}

/// Polls `/metrics` until every gauge in `want` has its value, or `within` passed. Returns the
/// gauges as last read (for the failure message).
pub async fn wait_for(
    server: &Server,
    want: &[(&str, f64)],
    within: Duration,
) -> Result<BTreeMap<&'static str, f64>, BTreeMap<&'static str, f64>> {
    let deadline = Instant::now() + within;
    loop {
        let now = held(server).await;
        if want
            .iter()
            .all(|(name, value)| now.get(name) == Some(value))
        {
            return Ok(now);
        }
        if Instant::now() >= deadline {
            return Err(now);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every [`HELD`] gauge at zero: nothing of any class is left.
pub fn nothing() -> Vec<(&'static str, f64)> {
    HELD.iter().map(|name| (*name, 0.0)).collect()
}

/// One class holding one participant with no media session (a teacher who never offered, or
/// whose media was freed): everyone else's media, tracks and routes are gone.
pub fn one_member_without_media() -> Vec<(&'static str, f64)> {
    HELD.iter()
        .map(|name| {
            let one = matches!(*name, "classroom_classes" | "classroom_participants");
            (*name, if one { 1.0 } else { 0.0 })
        })
        .collect()
}
