//! What a shard counts: media forwarded, and every drop under the name of its reason.

/// Running totals of one shard. Every early return on the media path adds to one of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// RTP packets written to a subscriber.
    pub forwarded: u64,
    /// A datagram from an address no session uses.
    pub dropped_unknown_source: u64,
    /// STUN naming a session that is not here.
    pub dropped_unknown_ufrag: u64,
    /// STUN that does not parse or carries no username.
    pub dropped_bad_stun: u64,
    /// A datagram str0m refused (not DTLS/RTP/RTCP, or failing decryption).
    pub dropped_malformed: u64,
    /// A packet on an m-line (or SSRC) the publisher does not publish on.
    pub dropped_no_track: u64,
    /// A packet of a source its publisher may not publish now (per packet).
    pub dropped_not_allowed: u64,
    /// A packet of a simulcast layer other than the one a subscriber gets (per subscriber).
    pub dropped_unselected_layer: u64,
    /// A packet a subscriber cannot decode before the keyframe it waits for (per subscriber).
    pub dropped_awaiting_keyframe: u64,
    /// A packet for a subscriber whose m-line for the track is not negotiated yet.
    pub dropped_not_negotiated: u64,
    /// A packet too late to place in the subscriber's stream (from before a layer switch, by its
    /// sequence number or its VP8 PictureID, or far behind the newest).
    pub dropped_stale: u64,
    /// A VP8 packet whose payload descriptor does not parse (per packet): no receiver could
    /// decode it, and its picture numbers cannot be carried on.
    pub dropped_malformed_vp8: u64,
    /// The subscriber's m-line has no codec matching the publisher's.
    pub dropped_codec_mismatch: u64,
    /// str0m refused to write to the subscriber.
    pub dropped_write_failed: u64,
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
