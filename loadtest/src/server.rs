//! The server under load: either one we start (`--spawn-server`, optionally pinned with `taskset`)
//! or one already running (`--server`, with `--server-pid` for its CPU time).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

use crate::cli::{self, Args};
use crate::signalling::ServerAddr;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
const LISTENING: &str = "classroom listening on http://";

/// Where the server is, and which process it is.
#[derive(Debug)]
pub struct Target {
    pub addr: ServerAddr,
    pub pid: Option<u32>,
    pub spawned: Option<SpawnedServer>,
}

impl Target {
    /// Spawns or locates the server named by the flags.
    pub fn from_args(args: &Args) -> anyhow::Result<Target> {
        if let Some(path) = &args.spawn_server {
            let spawned = SpawnedServer::start(path, args.server_cpu, args.server_shards)?;
            let addr = ServerAddr {
                http: spawned.http,
                admin_key: args.admin_key.clone(),
            };
            return Ok(Target {
                addr,
                pid: Some(spawned.pid),
                spawned: Some(spawned),
            });
        }
        let url = args
            .server
            .as_deref()
            .ok_or_else(|| anyhow!("give --server URL or --spawn-server PATH"))?;
        Ok(Target {
            addr: ServerAddr {
                http: cli::loopback_addr(url)?,
                admin_key: args.admin_key.clone(),
            },
            pid: args.server_pid,
            spawned: None,
        })
    }
}

/// A `classroom` process of ours; stopped (TERM, then KILL) when dropped.
#[derive(Debug)]
pub struct SpawnedServer {
    pub http: std::net::SocketAddr,
    pub pid: u32,
    child: Arc<Mutex<Child>>,
}

impl SpawnedServer {
    fn start(path: &Path, cpu: Option<usize>, shards: Option<usize>) -> anyhow::Result<Self> {
        if !path.is_file() {
            bail!("--spawn-server: no such file {}", path.display());
        }
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(path);
                c
            }
            None => Command::new(path),
        };
        command.args(["--http", "127.0.0.1:0", "--udp-port-base", "0"]);
        if let Some(shards) = shards {
            command.arg("--shards").arg(shards.to_string());
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
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
        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        let mut server = SpawnedServer {
            http: "127.0.0.1:0".parse()?,
            pid,
            child,
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let status = server.lock().try_wait().ok().flatten();
                bail!(
                    "{} did not print its listening line within {STARTUP_TIMEOUT:?} (exit status: {})",
                    path.display(),
                    status.map_or("still running".into(), |s| s.to_string())
                );
            }
        };
        server.http = line
            .parse()
            .with_context(|| format!("server printed an unexpected address `{line}`"))?;
        Ok(server)
    }

    /// A handle the watchdog can use to kill the server if the run overstays.
    pub fn killer(&self) -> Arc<Mutex<Child>> {
        self.child.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let mut child = self.lock();
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM lets it say `bye` and release its ports; KILL if it takes longer than 3 s.
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
