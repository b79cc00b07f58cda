//! What a shard counts: media forwarded, and every drop under the name of its reason.

use super::downlink::DOWNLINK_BUCKETS_BPS;
use super::drops::Drops;

/// Buckets of downlink estimates: one per bound of [`DOWNLINK_BUCKETS_BPS`], and one above them.
pub const DOWNLINK_BUCKETS: usize = DOWNLINK_BUCKETS_BPS.len() + 1;

/// Running totals of one shard. Every early return on the media path adds to `dropped`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// RTP packets written to a subscriber.
    pub forwarded: u64,
    /// Everything not forwarded, by reason.
    pub dropped: Drops,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests_sent: u64,
    /// Keyframe requests merged into one already sent or waiting.
    pub keyframe_requests_merged: u64,
    /// Media sessions freed because they did not connect in time (see
    /// [`super::DEFAULT_CONNECT_TIMEOUT`]).
    pub media_sessions_never_connected: u64,
    /// Videos paused for a subscriber (its downlink, or last-N).
    pub videos_paused: u64,
    /// Simulcast layer switches of a subscriber's video, to a lower and to a higher layer.
    pub layer_switches_down: u64,
    pub layer_switches_up: u64,
}

/// What a shard holds right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub rooms: usize,
    pub participants: usize,
    pub published_tracks: usize,
    pub subscriptions: usize,
    pub demux_ufrags: usize,
    pub demux_addrs: usize,
    /// Media sessions by their downlink estimate (not cumulative): the first bucket counts those
    /// up to the first bound of [`DOWNLINK_BUCKETS_BPS`], the last those above every bound.
    /// Sessions without an estimate are not counted.
    pub downlinks: [usize; DOWNLINK_BUCKETS],
    /// Subscriptions to a video paused now, by reason (in the order of `PauseReason::ALL`).
    pub videos_paused: [usize; 2],
}
