//! What the limits did, for `/metrics`: each refusal, drop and close has a counter named for its
//! reason, so an operator sees which bound a node hits.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters shared by every session and connection of a node.
#[derive(Debug, Default)]
pub struct LimitCounters {
    /// Messages waiting in all sessions' outboxes now.
    pub outbox_queued: Gauge,
    /// Droppable messages (speaker, pong) dropped because an outbox was full.
    pub outbox_dropped: Counter,
    /// State updates replaced by a newer one still queued.
    pub outbox_coalesced: Counter,
    /// Sessions closed because their outbox overflowed with messages that cannot be dropped.
    pub closed_queue_full: Counter,
    /// Sessions closed because their socket took nothing for `send_timeout_secs`.
    pub closed_send_stalled: Counter,
    /// WebSockets closed because they did not join in time.
    pub closed_join_deadline: Counter,
    /// Connections open now (HTTP and WebSocket, refused ones included while they are served).
    pub connections_open: Gauge,
    /// Connections refused because their address held `max_connections_per_address`.
    pub refused_per_address: Counter,
    /// Connections refused because the node held `max_connections`.
    pub refused_node_full: Counter,
    /// Connections closed at once, unanswered: even the room kept for refusals was full.
    pub shed: Counter,
}

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A level that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(&self, n: u64) {
        // Never below zero, even if a bug made sub outrun add: a wrapped gauge would read 2^64.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl LimitCounters {
    /// Appends the counters in Prometheus text format.
    pub fn write_prometheus(&self, text: &mut String) {
        let gauges = [
            ("classroom_outbox_queued_messages", &self.outbox_queued),
            ("classroom_connections_open", &self.connections_open),
        ];
        for (name, gauge) in gauges {
            let _ = writeln!(text, "# TYPE {name} gauge");
            let _ = writeln!(text, "{name} {}", gauge.get());
        }
        let counters = [
            ("classroom_outbox_dropped_total", &self.outbox_dropped),
            ("classroom_outbox_coalesced_total", &self.outbox_coalesced),
        ];
        for (name, counter) in counters {
            let _ = writeln!(text, "# TYPE {name} counter");
            let _ = writeln!(text, "{name} {}", counter.get());
        }
        let labelled = [
            (
                "classroom_sessions_closed_total",
                "reason",
                [
                    ("too_slow_queue_full", &self.closed_queue_full),
                    ("too_slow_send_stalled", &self.closed_send_stalled),
                    ("join_deadline", &self.closed_join_deadline),
                ],
            ),
            (
                "classroom_connections_refused_total",
                "reason",
                [
                    ("per_address", &self.refused_per_address),
                    ("node_full", &self.refused_node_full),
                    ("shed", &self.shed),
                ],
            ),
        ];
        for (name, label, series) in labelled {
            let _ = writeln!(text, "# TYPE {name} counter");
            for (value, counter) in series {
                let _ = writeln!(text, "{name}{{{label}=\"{value}\"}} {}", counter.get());
            }
        }
    }
}
