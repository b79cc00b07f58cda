//! Why a packet was not forwarded: one name per reason, counted per reason, exported on
//! `/metrics` as the `reason` label of `classroom_dropped_packets_total`.

use super::allocation::PauseReason;

/// The reason a datagram or a packet went no further. Per-datagram reasons count each datagram
/// once; per-subscriber reasons (marked) count once for each subscriber the packet did not reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A datagram from an address no session uses.
    UnknownSource,
    /// STUN naming a session that is not here.
    UnknownUfrag,
    /// STUN that does not parse or carries no username.
    BadStun,
    /// A datagram str0m refused (not DTLS/RTP/RTCP, or a DTLS record it could not take).
    Malformed,
    /// A packet on an m-line (or SSRC) the publisher does not publish on.
    NoTrack,
    /// A packet of a source its publisher has no right to publish now.
    NoRight,
    /// A VP8 packet whose payload descriptor does not parse: no receiver could decode it, and its
    /// picture numbers cannot be carried on.
    MalformedVp8,
    /// The publisher's payload type names no codec of its session.
    UnknownCodec,
    /// A simulcast layer other than the one the subscriber receives (per subscriber).
    LayerNotWanted,
    /// A video paused for the subscriber: its downlink cannot take even the lowest layer
    /// (per subscriber).
    PausedForBandwidth,
    /// A video paused for the subscriber: not among the `last_n` it receives (per subscriber).
    BeyondLastN,
    /// A packet the subscriber cannot decode before the keyframe it waits for (per subscriber).
    AwaitingKeyframe,
    /// The subscriber's m-line for the track is not negotiated yet (per subscriber).
    NotNegotiated,
    /// The subscriber's m-line has no codec matching the publisher's (per subscriber).
    CodecMismatch,
    /// Too late to place in the subscriber's stream: from before a layer switch, by its sequence
    /// number or its VP8 PictureID, or far behind the newest (per subscriber).
    Stale,
    /// str0m has no send stream for the subscriber's m-line (per subscriber).
    WriteFailed,
}

impl DropReason {
    /// Every reason, in the order of their counters.
    pub const ALL: [DropReason; 16] = [
        DropReason::UnknownSource,
        DropReason::UnknownUfrag,
        DropReason::BadStun,
        DropReason::Malformed,
        DropReason::NoTrack,
        DropReason::NoRight,
        DropReason::MalformedVp8,
        DropReason::UnknownCodec,
        DropReason::LayerNotWanted,
        DropReason::PausedForBandwidth,
        DropReason::BeyondLastN,
        DropReason::AwaitingKeyframe,
        DropReason::NotNegotiated,
        DropReason::CodecMismatch,
        DropReason::Stale,
        DropReason::WriteFailed,
    ];

    /// The `reason` label on `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::UnknownSource => "unknown_source",
            DropReason::UnknownUfrag => "unknown_ufrag",
            DropReason::BadStun => "bad_stun",
            DropReason::Malformed => "malformed",
            DropReason::NoTrack => "no_track",
            DropReason::NoRight => "no_right",
            DropReason::MalformedVp8 => "malformed_vp8",
            DropReason::UnknownCodec => "unknown_codec",
            DropReason::LayerNotWanted => "layer_not_wanted",
            DropReason::PausedForBandwidth => "paused_bandwidth",
            DropReason::BeyondLastN => "last_n",
            DropReason::AwaitingKeyframe => "awaiting_keyframe",
            DropReason::NotNegotiated => "not_negotiated",
            DropReason::CodecMismatch => "codec_mismatch",
            DropReason::Stale => "stale",
            DropReason::WriteFailed => "write_failed",
        }
    }

    fn index(self) -> usize {
        // `ALL` lists the variants in declaration order.
        self as usize
    }
}

impl From<PauseReason> for DropReason {
    /// A packet of a video paused for the subscriber, counted under why it is paused.
    fn from(reason: PauseReason) -> Self {
        match reason {
            PauseReason::Bandwidth => DropReason::PausedForBandwidth,
            PauseReason::LastN => DropReason::BeyondLastN,
        }
    }
}

/// How many reasons there are: the size of [`Drops`].
pub const DROP_REASONS: usize = DropReason::ALL.len();

/// Running drop totals of one shard, one per [`DropReason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops([u64; DROP_REASONS]);

impl Drops {
    pub fn add(&mut self, reason: DropReason) {
        self.0[reason.index()] += 1;
    }

    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    /// Every drop, whatever its reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Each reason with its count, in the order of [`DropReason::ALL`].
    pub fn by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .into_iter()
            .map(|reason| (reason, self.get(reason)))
    }

    /// The counts as an array, for copying through atomics.
    pub fn to_cells(self) -> [u64; DROP_REASONS] {
        self.0
    }

    pub fn from_cells(cells: [u64; DROP_REASONS]) -> Self {
        Drops(cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter_and_a_distinct_label() {
        let mut drops = Drops::default();
        for (n, reason) in DropReason::ALL.into_iter().enumerate() {
            assert_eq!(reason.index(), n, "{reason:?} out of order in ALL");
            for _ in 0..=n {
                drops.add(reason);
            }
        }
        for (n, (reason, count)) in drops.by_reason().enumerate() {
            assert_eq!(count, n as u64 + 1, "{reason:?}");
        }
        let mut labels: Vec<_> = DropReason::ALL.iter().map(|r| r.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), DROP_REASONS);
        assert_eq!(drops.total(), (1..=DROP_REASONS as u64).sum::<u64>());
        assert_eq!(Drops::from_cells(drops.to_cells()), drops);
    }
}
