//! The server processes this load test starts (a `classroom` binary, a Janus), and the one rule
//! about them: none outlives the run. Each is stopped (TERM, then KILL, then reaped) when its owner
//! drops it, when the hard deadline passes, and on Ctrl-C or SIGTERM. As a last resort, should
//! this process die without running any of that (SIGKILL), the kernel kills them: they are started
//! under `setpriv --pdeathsig KILL`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a server gets to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);

/// Every server started and not yet stopped, for the signal handler and the watchdog.
static RUNNING: Mutex<Vec<Arc<Mutex<Child>>>> = Mutex::new(Vec::new());
/// Scratch directories of those servers, removed after them should the process exit early.
static SCRATCH: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `dir` in [`stop_all`] unless [`forget_scratch`] is called first (by its owner's `Drop`).
pub fn register_scratch(dir: &Path) {
    lock(&SCRATCH).push(dir.to_path_buf());
}

/// `dir` was removed by its owner.
pub fn forget_scratch(dir: &Path) {
    lock(&SCRATCH).retain(|d| d != dir);
}

/// A server process of ours; stopped when dropped.
#[derive(Debug)]
pub struct Server {
    pub pid: u32,
    child: Arc<Mutex<Child>>,
}

impl Server {
    /// Spawns `command` and registers it for stopping.
    pub fn spawn(mut command: Command) -> std::io::Result<Server> {
        let child = command.spawn()?;
        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        lock(&RUNNING).push(child.clone());
        Ok(Server { pid, child })
    }

    /// Its stdout, if it was piped (once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        lock(&self.child).stdout.take()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&self) -> Option<std::process::ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut lock(&self.child));
        lock(&RUNNING).retain(|c| !Arc::ptr_eq(c, &self.child));
    }
}

/// The command that runs `program`, pinned to `cpu` if given, and killed by the kernel if this
/// process dies first (`setpriv --pdeathsig KILL`; both `setpriv` and `taskset` exec, so the pid
/// is the server's own). The kernel sends that signal when the *thread* that spawned the server
/// ends, so servers are spawned from the main thread.
pub fn server_command(program: &Path, cpu: Option<usize>) -> Command {
    let mut command = Command::new("setpriv");
    command.args(["--pdeathsig", "KILL", "--"]);
    if let Some(cpu) = cpu {
        command.args(["taskset", "-c", &cpu.to_string()]);
    }
    command.arg(program);
    command
}

/// Stops every server still running and removes their scratch directories (the signal handler
/// and the watchdog call this just before exiting, when no `Drop` will run).
pub fn stop_all() {
    let running: Vec<_> = lock(&RUNNING).drain(..).collect();
    for child in running {
        stop(&mut lock(&child));
    }
    for dir in lock(&SCRATCH).drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// On SIGINT or SIGTERM: stop the servers, then exit with 130. Installed before any is started.
pub fn stop_on_signals() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registered here, on this thread, so that a failure is reported before anything starts.
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        std::io::Result::Ok((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        });
        eprintln!("loadtest: interrupted; stopping the servers");
        stop_all();
        std::process::exit(130);
    });
    Ok(())
}

/// TERM, up to [`GRACE`] to exit, then KILL; always reaped.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    // `kill(1)` rather than a libc call: this crate has no unsafe code. The child is not reaped
    // yet (try_wait above), so its pid cannot have been reused.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
