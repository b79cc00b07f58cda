//! A shard's gauges and counters, published for the control plane's metrics without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::{Counters, Drops, Gauges, DOWNLINK_BUCKETS, DROP_REASONS};
use crate::hold_time::{HoldHistogram, BUCKETS};
use crate::tcp::{TcpCounters, TCP_COUNTER_CELLS};

/// Written by the shard thread, read by anyone.
#[derive(Debug, Default)]
pub struct ShardStats {
    rooms: AtomicU64,
    participants: AtomicU64,
    published_tracks: AtomicU64,
    subscriptions: AtomicU64,
    demux_entries: AtomicU64,
    forwarded: AtomicU64,
    dropped: [AtomicU64; DROP_REASONS],
    keyframe_requests_sent: AtomicU64,
    datagrams_in: AtomicU64,
    datagrams_out: AtomicU64,
    never_connected: AtomicU64,
    hold_counts: [AtomicU64; BUCKETS],
    hold_sum_us: AtomicU64,
    tcp: [AtomicU64; TCP_COUNTER_CELLS],
    downlinks: [AtomicU64; DOWNLINK_BUCKETS],
    videos_paused_now: [AtomicU64; 2],
    videos_paused: AtomicU64,
    layer_switches: [AtomicU64; 2],
}

/// A copy of one shard's stats at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub rooms: u64,
    pub participants: u64,
    pub published_tracks: u64,
    pub subscriptions: u64,
    pub demux_entries: u64,
    pub forwarded: u64,
    /// Packets not forwarded, by reason.
    pub dropped: Drops,
    pub keyframe_requests_sent: u64,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    /// Media sessions freed because they did not connect in time.
    pub never_connected: u64,
    /// How long the shard held datagrams ([`crate::hold_time`]), since it started.
    pub hold: HoldHistogram,
    /// The ICE-TCP connections: open now, closed by reason, frames and drops.
    pub tcp: TcpCounters,
    /// Media sessions by downlink estimate, per bucket of `sfu::core::DOWNLINK_BUCKETS_BPS`
    /// (not cumulative; the last bucket is above every bound).
    pub downlinks: [u64; DOWNLINK_BUCKETS],
    /// Subscriptions to a video paused now, in the order of `PauseReason::ALL`.
    pub videos_paused_now: [u64; 2],
    /// Videos paused for a subscriber, since the shard started.
    pub videos_paused: u64,
    /// Layer switches of subscribers' videos: down, up.
    pub layer_switches: [u64; 2],
}

impl ShardStats {
    pub(crate) fn publish(
        &self,
        gauges: &Gauges,
        counters: &Counters,
        io: (u64, u64),
        hold: &HoldHistogram,
    ) {
        let set = |cell: &AtomicU64, v: u64| cell.store(v, Ordering::Relaxed);
        set(&self.rooms, gauges.rooms as u64);
        set(&self.participants, gauges.participants as u64);
        set(&self.published_tracks, gauges.published_tracks as u64);
        set(&self.subscriptions, gauges.subscriptions as u64);
        set(
            &self.demux_entries,
            (gauges.demux_ufrags + gauges.demux_addrs) as u64,
        );
        set(&self.forwarded, counters.forwarded);
        for (cell, count) in self.dropped.iter().zip(counters.dropped.to_cells()) {
            set(cell, count);
        }
        set(
            &self.keyframe_requests_sent,
            counters.keyframe_requests_sent,
        );
        set(&self.datagrams_in, io.0);
        set(&self.datagrams_out, io.1);
        set(
            &self.never_connected,
            counters.media_sessions_never_connected,
        );
        for (cell, count) in self.hold_counts.iter().zip(hold.counts) {
            set(cell, count);
        }
        set(&self.hold_sum_us, hold.sum_us);
        for (cell, count) in self.downlinks.iter().zip(gauges.downlinks) {
            set(cell, count as u64);
        }
        for (cell, count) in self.videos_paused_now.iter().zip(gauges.videos_paused) {
            set(cell, count as u64);
        }
        set(&self.videos_paused, counters.videos_paused);
        set(&self.layer_switches[0], counters.layer_switches_down);
        set(&self.layer_switches[1], counters.layer_switches_up);
    }

    pub(crate) fn publish_tcp(&self, tcp: &TcpCounters) {
        for (cell, value) in self.tcp.iter().zip(tcp.to_cells()) {
            cell.store(value, Ordering::Relaxed);
        }
    }

    /// Reads every value.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        StatsSnapshot {
            rooms: get(&self.rooms),
            participants: get(&self.participants),
            published_tracks: get(&self.published_tracks),
            subscriptions: get(&self.subscriptions),
            demux_entries: get(&self.demux_entries),
            forwarded: get(&self.forwarded),
            dropped: Drops::from_cells(std::array::from_fn(|i| get(&self.dropped[i]))),
            keyframe_requests_sent: get(&self.keyframe_requests_sent),
            datagrams_in: get(&self.datagrams_in),
            datagrams_out: get(&self.datagrams_out),
            never_connected: get(&self.never_connected),
            hold: HoldHistogram {
                counts: std::array::from_fn(|i| get(&self.hold_counts[i])),
                sum_us: get(&self.hold_sum_us),
            },
            tcp: TcpCounters::from_cells(std::array::from_fn(|i| get(&self.tcp[i]))),
            downlinks: std::array::from_fn(|i| get(&self.downlinks[i])),
            videos_paused_now: std::array::from_fn(|i| get(&self.videos_paused_now[i])),
            videos_paused: get(&self.videos_paused),
            layer_switches: std::array::from_fn(|i| get(&self.layer_switches[i])),
        }
    }
}
