//! Media plane of the classroom server.
//!
//! [`core::ShardCore`] is the sans-IO heart: rooms, participants (one str0m `Rtc` each), forwarding
//! and keyframe policy, driven by `handle_input(now, …)` / `poll_output()`. [`shard::Shard`] is the
//! thin IO layer: one thread and one UDP socket per shard. [`plane::MediaPlane`] starts the shards.

pub mod arrival;
pub mod command;
pub mod core;
pub mod demux;
pub mod hold_time;
pub mod ids;
pub mod plane;
pub mod send_batch;
pub mod shard;
pub mod stats;

pub use command::{
    ClientAnswer, ClientOffer, Command, Layer, MediaEvent, PublishRights, Rejection, SdpProblem,
    TrackKind, TrackSource,
};
pub use ids::{ParticipantId, RoomId};
pub use plane::{MediaConfig, MediaPlane};
pub use shard::{EventSink, Shard};
pub use stats::StatsSnapshot;
