//! What a shard's ICE-TCP listener lets peers make it hold, and why a connection was closed.

use std::time::Duration;

/// The bounds of one shard's ICE-TCP connections. Every one is a number in `docs/SECURITY.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpLimits {
    /// Most connections open on one shard; more are accepted and closed at once.
    pub max_connections: usize,
    /// Most connections from one IP address on one shard. A school behind one NAT address shows
    /// as one address, so this is high; it still keeps one host from taking the whole shard.
    pub max_per_address: usize,
    /// How long a new connection may take to send a STUN binding request signed for a session of
    /// this shard. Until then every frame must be one; anything else closes it.
    pub first_stun_within: Duration,
    /// How long a connection may stay silent. A browser checks consent every few seconds, so a
    /// silent connection is half-open (the peer vanished without a FIN).
    pub idle_timeout: Duration,
    /// Bytes queued for one connection beyond what the kernel holds. A frame that does not fit is
    /// dropped (counted): media is real-time, a late packet is worth less than a fresh one.
    pub outbound_buffer: usize,
    /// How long a connection with queued bytes may take no byte at all (a peer that stopped reading).
    pub write_stall: Duration,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_connections: 2048,
            max_per_address: 256,
            first_stun_within: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            outbound_buffer: 256 * 1024,
            write_stall: Duration::from_secs(10),
        }
    }
}

/// Why the shard closed an ICE-TCP connection (one counter each in `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Over [`TcpLimits::max_connections`] or [`TcpLimits::max_per_address`].
    OverCap,
    /// No valid STUN within [`TcpLimits::first_stun_within`].
    NoStunInTime,
    /// Its first frames were not STUN signed for a session of this shard (garbage, or a session
    /// that is gone).
    NotStun,
    /// A frame length over the limit, or zero.
    BadFrame,
    /// Nothing received for [`TcpLimits::idle_timeout`] (half-open).
    Idle,
    /// Queued bytes not taken for [`TcpLimits::write_stall`] (a reader that stopped).
    Stalled,
    /// The media session it carried ended.
    SessionEnded,
    /// The peer closed it, or the socket failed.
    PeerClosed,
}

impl CloseReason {
    /// Every reason, in the order of the counters.
    pub const ALL: [CloseReason; 8] = [
        CloseReason::OverCap,
        CloseReason::NoStunInTime,
        CloseReason::NotStun,
        CloseReason::BadFrame,
        CloseReason::Idle,
        CloseReason::Stalled,
        CloseReason::SessionEnded,
        CloseReason::PeerClosed,
    ];

    /// The `reason` label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::OverCap => "over_cap",
            CloseReason::NoStunInTime => "no_stun_in_time",
            CloseReason::NotStun => "not_stun",
            CloseReason::BadFrame => "bad_frame",
            CloseReason::Idle => "idle",
            CloseReason::Stalled => "stalled",
            CloseReason::SessionEnded => "session_ended",
            CloseReason::PeerClosed => "peer_closed",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Running totals and gauges of one shard's ICE-TCP.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TcpCounters {
    /// Connections open now.
    pub open: u64,
    /// Of those, how many have not yet sent a valid STUN.
    pub unauthenticated: u64,
    /// Connections accepted (over the caps included).
    pub accepted: u64,
    /// Connections closed, by [`CloseReason`] (indexed by `CloseReason::index`).
    pub closed: [u64; CloseReason::ALL.len()],
    /// Frames received and handed to the core.
    pub frames_in: u64,
    /// Frames queued for sending.
    pub frames_out: u64,
    /// Frames dropped because the connection's outbound buffer was full (a slow reader).
    pub dropped_buffer_full: u64,
    /// Frames for a peer with no open connection (it closed meanwhile).
    pub dropped_no_connection: u64,
    /// Bytes queued now, over every connection.
    pub queued_bytes: u64,
}

/// How many numbers [`TcpCounters`] holds, for copying them through atomics.
pub(crate) const TCP_COUNTER_CELLS: usize = 8 + CloseReason::ALL.len();

impl TcpCounters {
    pub(crate) fn to_cells(self) -> [u64; TCP_COUNTER_CELLS] {
        let mut cells = [0; TCP_COUNTER_CELLS];
        cells[..8].copy_from_slice(&[
            self.open,
            self.unauthenticated,
            self.accepted,
            self.frames_in,
            self.frames_out,
            self.dropped_buffer_full,
            self.dropped_no_connection,
            self.queued_bytes,
        ]);
        cells[8..].copy_from_slice(&self.closed);
        cells
    }

    pub(crate) fn from_cells(cells: [u64; TCP_COUNTER_CELLS]) -> Self {
        let mut closed = [0; CloseReason::ALL.len()];
        closed.copy_from_slice(&cells[8..]);
        TcpCounters {
            open: cells[0],
            unauthenticated: cells[1],
            accepted: cells[2],
            frames_in: cells[3],
            frames_out: cells[4],
            dropped_buffer_full: cells[5],
            dropped_no_connection: cells[6],
            queued_bytes: cells[7],
            closed,
        }
    }

    /// Connections closed for `reason`.
    pub fn closed_for(&self, reason: CloseReason) -> u64 {
        self.closed[reason.index()]
    }
}
