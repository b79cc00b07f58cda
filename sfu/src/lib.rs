//! Media plane of the classroom server.
//!
//! [`core::ShardCore`] is the sans-IO heart: rooms, participants (one str0m `Rtc` each), forwarding
//! and keyframe policy, driven by `handle_input(now, …)` / `poll_output()`. [`shard::Shard`] is the
//! thin IO layer: one thread per shard, with a UDP socket and an ICE-TCP listener ([`tcp`]). [`plane::MediaPlane`] starts the shards.

pub mod arrival;
pub mod command;
pub mod core;
pub mod demux;
pub mod hold_time;
pub mod host_addrs;
pub mod ids;
pub mod plane;
pub mod send_batch;
pub mod shard;
pub mod stats;
pub mod tcp;

pub use command::{
    ClientAnswer, ClientOffer, Command, Layer, MediaEvent, PauseReason, PublishRights, Rejection,
    SdpProblem, TrackKind, TrackSource,
};
pub use core::{DropReason, Drops};
pub use ids::{ParticipantId, RoomId};
pub use plane::{MediaConfig, MediaPlane};
pub use shard::{EventSink, Shard, ShardConfig};
pub use stats::StatsSnapshot;
pub use tcp::{CloseReason, TcpCounters, TcpLimits};
