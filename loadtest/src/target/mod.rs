//! What a run loads. The scenario (classes, who publishes what, the timing) and every
//! measurement are the same for all targets; a target only knows its server: how to start or find
//! it, how to make a class, and how one participant joins, signals and leaves.
//!
//! - [`classroom`]: this project's server, over its WebSocket protocol (docs/PROTOCOL.md).
//! - [`janus`]: Janus VideoRoom (the Debian package), configured and started by the load test.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use clap::ValueEnum;

use crate::cli::Args;
use crate::measure::PeerStats;
use crate::peer::{PeerPlan, RunContext};

pub mod classroom;
pub mod janus;

/// `--target`: which server(s) to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Choice {
    /// This project's `classroom` server (`--server` or `--spawn-server`).
    Classroom,
    /// Janus VideoRoom, started on loopback by the load test.
    Janus,
    /// The same scenario against classroom, then Janus; prints them side by side.
    Both,
}

impl Choice {
    /// The targets to run, in order.
    pub fn kinds(self) -> &'static [Kind] {
        match self {
            Choice::Classroom => &[Kind::Classroom],
            Choice::Janus => &[Kind::Janus],
            Choice::Both => &[Kind::Classroom, Kind::Janus],
        }
    }
}

/// One server to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Classroom,
    Janus,
}

impl Kind {
    /// As `--target` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Classroom => "classroom",
            Kind::Janus => "janus",
        }
    }
}

/// A server under load (an SFU), as the run sees it.
pub trait Sfu: Sync {
    /// What a class's participants need to join it.
    type Class: Send + Sync + 'static;

    /// Where it listens, for the log.
    fn describe(&self) -> String;

    /// Its process, for its CPU time (`None`: not known, CPU is not reported).
    fn pid(&self) -> Option<u32>;

    /// Makes a class for `args.pupils` pupils, `args.talkers` of them talking.
    fn create_class(&self, args: &Args)
        -> impl Future<Output = anyhow::Result<Self::Class>> + Send;

    /// One participant from its join to the end of the run (`ctx.end`); never fails, records
    /// instead. Called at the participant's join time.
    fn participant(
        &self,
        plan: PeerPlan,
        class: Arc<Self::Class>,
        ctx: Arc<RunContext>,
    ) -> impl Future<Output = PeerStats> + Send + 'static;

    /// The server's own counters, if it exposes them.
    fn server_counters(&self) -> impl Future<Output = Option<ServerCounters>> + Send;
}

/// What a server says about itself at one moment.
#[derive(Debug, Clone)]
pub struct ServerCounters {
    /// UDP datagrams sent since it started.
    pub datagrams_out: u64,
    /// Per media shard (classroom only), by shard index.
    pub shards: BTreeMap<usize, ShardCounters>,
    /// How long it held the datagrams it received, since it started (classroom's
    /// `classroom_shard_hold_seconds`).
    pub hold: sfu::hold_time::HoldHistogram,
}

/// What one shard of the classroom server sent since it started, per transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardCounters {
    pub udp_datagrams_out: u64,
    pub tcp_frames_out: u64,
}
