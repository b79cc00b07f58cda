//! A `classroom` server we start (`--spawn-server`, optionally pinned with `--server-cpu`) on
//! ephemeral loopback ports, its media on loopback only (UDP and ICE-TCP).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::process::{self, Server};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// The configuration of a server we start. The generator is every pupil of every class, all
/// from one address: the per-address limits that protect a real deployment from one link would
/// refuse it, so they are lifted here (the node-wide limits stay as shipped), ICE-TCP's too.
const SPAWNED_CONFIG: &str = "\
[limits]
max_connections_per_address = 1000000
room_creations_per_minute = 1000000
room_creation_burst = 1000000
[media.tcp]
max_per_address = 2048
";
const LISTENING: &str = "classroom listening on http://";

/// A `classroom` process of ours; stopped (TERM, then KILL) when dropped.
#[derive(Debug)]
pub struct SpawnedServer {
    pub http: SocketAddr,
    pub server: Server,
}

impl SpawnedServer {
    /// Starts `path` and waits (15 s at most) for the address it prints.
    pub fn start(path: &Path, cpu: Option<usize>, shards: Option<usize>) -> anyhow::Result<Self> {
        if !path.is_file() {
            bail!("--spawn-server: no such file {}", path.display());
        }
        let config =
            std::env::temp_dir().join(format!("classroom-loadtest-{}.toml", std::process::id()));
        std::fs::write(&config, SPAWNED_CONFIG)
            .with_context(|| format!("writing {}", config.display()))?;
        let mut command = process::server_command(path, cpu);
        command.args(["--http", "127.0.0.1:0", "--udp-port-base", "0"]);
        // The media default is every address of the machine; a load test stays on loopback.
        command.args(["--media-bind-ip", "127.0.0.1", "--public-ip", "127.0.0.1"]);
        command.arg("--config").arg(&config);
        if let Some(shards) = shards {
            command.arg("--shards").arg(shards.to_string());
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut server =
            Server::spawn(command).with_context(|| format!("starting {}", path.display()))?;
        let stdout = server.take_stdout().context("server stdout")?;
        let (tx, rx) = mpsc::channel();
        // Reads the listening line, then keeps draining stdout so the server never blocks on it.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix(LISTENING) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                }
            }
        });
        let started = rx.recv_timeout(STARTUP_TIMEOUT);
        // Read at start only.
        let _ = std::fs::remove_file(&config);
        let line = match started {
            Ok(line) => line,
            Err(_) => bail!(
                "{} did not print its listening line within {STARTUP_TIMEOUT:?} (exit status: {})",
                path.display(),
                server
                    .exited()
                    .map_or("still running".into(), |s| s.to_string())
            ),
        };
        let http = line
            .parse()
            .with_context(|| format!("server printed an unexpected address `{line}`"))?;
        Ok(SpawnedServer { http, server })
    }
}
