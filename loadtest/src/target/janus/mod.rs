//! The Janus target: Janus VideoRoom (Debian's `janus` package), configured and started by the
//! load test on loopback (see `setup` for the configuration), loaded with the same scenario and
//! measured the same way as the classroom server.
//!
//! A class is a VideoRoom room with room for its teacher and talkers to publish, VP8 and Opus only,
//! no recording and no periodic keyframe requests (the synthetic camera sends a keyframe every
//! `--keyframe-every` and on request, as it does for the classroom server).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use serde_json::json;

use super::{ServerCounters, Sfu};
use crate::cli::Args;
use crate::measure::PeerStats;
use crate::peer::{PeerPlan, RunContext};

mod api;
mod peer;
mod process;
mod sdp;
mod setup;

use api::{Room, Session};
use process::JanusProcess;

/// A Janus of ours.
#[derive(Debug)]
pub struct Janus {
    process: JanusProcess,
    event_loops: usize,
}

impl Janus {
    /// Prepares and starts Janus as the flags say (`--janus`, `--server-cpu`,
    /// `--janus-event-loops`).
    pub fn start(args: &Args) -> anyhow::Result<Janus> {
        let event_loops = args.janus_event_loops();
        let process = JanusProcess::start(args.janus.as_deref(), args.server_cpu, event_loops)?;
        Ok(Janus {
            process,
            event_loops,
        })
    }
}

/// A VideoRoom room.
#[derive(Debug)]
pub struct RoomId(u64);

impl Sfu for Janus {
    type Class = RoomId;

    fn describe(&self) -> String {
        let loops = match self.event_loops {
            0 => "a media thread per handle".to_owned(),
            n => format!("event_loops {n}"),
        };
        format!("Janus VideoRoom at ws://{} ({loops})", self.process.ws)
    }

    fn pid(&self) -> Option<u32> {
        Some(self.process.pid())
    }

    async fn create_class(&self, args: &Args) -> anyhow::Result<RoomId> {
        let mut session = Session::open(self.process.ws).await?;
        let handle = session.attach().await?;
        let answer = session
            .plugin_call(
                handle,
                json!({
                    "request": "create",
                    "publishers": args.talkers + 1,
                    "audiocodec": "opus",
                    "videocodec": "vp8",
                    "fir_freq": 0,
                    "record": false,
                    "permanent": false,
                }),
            )
            .await;
        session.close(Duration::from_millis(500)).await;
        match answer? {
            Room::Created { room } => Ok(RoomId(room)),
            Room::Event {
                error_code: Some(code),
                error,
                ..
            } => bail!(
                "VideoRoom refused to create a room: {code} {}",
                error.unwrap_or_default()
            ),
            other => bail!("VideoRoom answered `create` with {other:?}"),
        }
    }

    fn participant(
        &self,
        plan: PeerPlan,
        class: Arc<RoomId>,
        ctx: Arc<RunContext>,
    ) -> impl std::future::Future<Output = PeerStats> + Send + 'static {
        peer::run(plan, class.0, self.process.ws, ctx)
    }

    /// Janus keeps no such counters outside its admin API, which is not enabled.
    async fn server_counters(&self) -> Option<ServerCounters> {
        None
    }
}
