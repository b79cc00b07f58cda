//! The `classroom` binary itself, run as a child process: started with flags, its listening line
//! read, signalled, and waited for (bounded).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_classroom");

/// Flags for a node on ports the OS picks, with one shard.
pub const EPHEMERAL: [&str; 6] = [
    "--http",
    "127.0.0.1:0",
    "--udp-port-base",
    "0",
    "--shards",
    "1",
];

/// Starts the binary with `args`, logging at `warn`.
pub fn spawn(args: &[&str]) -> Child {
    let mut command = Command::new(BIN);
    command.args(args).env("RUST_LOG", "warn");
    spawn_command(command)
}

/// Starts `command` (the binary, or a shell that execs it) with its output piped.
pub fn spawn_command(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

/// Reads the "listening on" line the binary prints and returns the base URL's host:port.
pub fn listening_addr(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a line on stdout");
    line.trim()
        .strip_prefix("classroom listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// Waits for the process to exit (10 s at most, or the test fails).
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "the server did not stop in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends signal `name` ("TERM", "INT") to the process.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Everything the process wrote to standard error (call once it has exited).
pub fn stderr_of(child: &mut Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    stderr
}
