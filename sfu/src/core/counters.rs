//! What a shard counts: media forwarded, and every drop under the name of its reason.

use super::drops::Drops;

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
}
