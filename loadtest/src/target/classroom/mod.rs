//! The classroom target: this project's server, either one we start (`--spawn-server`, optionally
//! pinned with `--server-cpu`) or one already running (`--server`, with `--server-pid` for its CPU
//! time).

use std::sync::Arc;

use anyhow::anyhow;

use super::{ServerCounters, Sfu};
use crate::cli::{self, Args};
use crate::measure::PeerStats;
use crate::peer::{PeerPlan, RunContext};

mod metrics;
mod peer;
mod server;
mod signalling;

use server::SpawnedServer;
use signalling::{ClassLinks, ServerAddr};

/// Where the server is, and which process it is.
#[derive(Debug)]
pub struct Classroom {
    addr: ServerAddr,
    pid: Option<u32>,
    /// Kept for its `Drop`: the server we started stops with this.
    _spawned: Option<SpawnedServer>,
}

impl Classroom {
    /// Spawns or locates the server named by the flags.
    pub fn from_args(args: &Args) -> anyhow::Result<Classroom> {
        if let Some(path) = &args.spawn_server {
            let spawned = SpawnedServer::start(path, args.server_cpu, args.server_shards)?;
            return Ok(Classroom {
                addr: ServerAddr {
                    http: spawned.http,
                    admin_key: args.admin_key.clone(),
                },
                pid: Some(spawned.server.pid),
                _spawned: Some(spawned),
            });
        }
        let url = args
            .server
            .as_deref()
            .ok_or_else(|| anyhow!("give --server URL or --spawn-server PATH"))?;
        Ok(Classroom {
            addr: ServerAddr {
                http: cli::loopback_addr(url)?,
                admin_key: args.admin_key.clone(),
            },
            pid: args.server_pid,
            _spawned: None,
        })
    }
}

impl Sfu for Classroom {
    type Class = ClassLinks;

    fn describe(&self) -> String {
        format!("classroom at http://{}", self.addr.http)
    }

    fn pid(&self) -> Option<u32> {
        self.pid
    }

    async fn create_class(&self, _args: &Args) -> anyhow::Result<ClassLinks> {
        self.addr.create_class().await
    }

    fn participant(
        &self,
        plan: PeerPlan,
        class: Arc<ClassLinks>,
        ctx: Arc<RunContext>,
    ) -> impl std::future::Future<Output = PeerStats> + Send + 'static {
        peer::run(plan, class, self.addr.clone(), ctx)
    }

    async fn server_counters(&self) -> Option<ServerCounters> {
        let page = self.addr.metrics_page().await.ok()?;
        Some(metrics::server_counters(&page))
    }
}
