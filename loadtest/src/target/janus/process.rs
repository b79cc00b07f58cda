//! Starting the Janus of a run: the shim preloaded, pinned like the classroom server, its output
//! in a log file of the run's directory (whose tail goes into the error if it fails to start), and
//! ready once its WebSocket port answers.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::setup::{self, Prepared, Settings};
use crate::process::{self, Server};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
/// Lines of Janus's output quoted when it fails.
const TAIL_LINES: usize = 15;

/// A running Janus; stopped (TERM, then KILL, then reaped) and its directory removed when dropped.
#[derive(Debug)]
pub struct JanusProcess {
    pub ws: SocketAddr,
    // Declared first so it is dropped first: Janus stops before its directory goes.
    server: Server,
    prepared: Prepared,
}

impl JanusProcess {
    /// Prepares, starts and waits for a Janus pinned to `cpu`.
    pub fn start(
        binary: Option<&std::path::Path>,
        cpu: Option<usize>,
        event_loops: usize,
    ) -> anyhow::Result<JanusProcess> {
        let ws_port = free_port()?;
        let prepared = setup::prepare(&Settings {
            binary: binary.map(Into::into),
            ws_port,
            event_loops,
        })?;
        let log_path = prepared.dir.path().join("janus.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = process::server_command(&prepared.binary, cpu);
        command
            .arg("--config")
            .arg(&prepared.config)
            .arg("--configs-folder")
            .arg(prepared.dir.path().join("conf"))
            .env("LD_PRELOAD", &prepared.shim)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let server = Server::spawn(command)
            .with_context(|| format!("starting {}", prepared.binary.display()))?;
        let janus = JanusProcess {
            ws: SocketAddr::from(([127, 0, 0, 1], ws_port)),
            server,
            prepared,
        };
        janus.wait_until_listening()?;
        Ok(janus)
    }

    /// Janus's pid (`setpriv` and `taskset` exec it, so it is the child's own).
    pub fn pid(&self) -> u32 {
        self.server.pid
    }

    fn wait_until_listening(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.server.exited() {
                bail!(
                    "Janus ({}) exited with {status} before listening; its output ends with:\n{}",
                    self.prepared.binary.display(),
                    self.log_tail()
                );
            }
            if TcpStream::connect_timeout(&self.ws, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "Janus did not listen on {} within {STARTUP_TIMEOUT:?}; its output ends with:\n{}",
                    self.ws,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.prepared.dir.path().join("janus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return "  (no output)".into();
        }
        lines[lines.len().saturating_sub(TAIL_LINES)..]
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A loopback TCP port free right now (Janus binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}
