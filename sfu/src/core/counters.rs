//! What a shard counts: media forwarded, and every drop under the name of its reason.

/// Running totals of one shard. Every early return on the media path adds to one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Media frames written to a subscriber.
    pub forwarded: u64,
    /// A datagram from an address no session uses.
    pub dropped_unknown_source: u64,
    /// STUN naming a session that is not here.
    pub dropped_unknown_ufrag: u64,
    /// STUN that does not parse or carries no username.
    pub dropped_bad_stun: u64,
    /// A datagram str0m refused (not DTLS/RTP/RTCP, or failing decryption).
    pub dropped_malformed: u64,
    /// Media on a track from a simulcast layer not chosen for forwarding.
    pub dropped_unselected_layer: u64,
    /// The subscriber's m-line has no codec matching the publisher's.
    pub dropped_codec_mismatch: u64,
    /// Media from a source its publisher has no right to publish now (muted by the teacher).
    pub dropped_not_allowed: u64,
    /// str0m refused to write to the subscriber.
    pub dropped_write_failed: u64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests_sent: u64,
    /// Keyframe requests merged into one already sent or waiting.
    pub keyframe_requests_merged: u64,
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
