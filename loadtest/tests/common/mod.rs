//! Shared by the loadtest tests: where the `classroom` server binary is, and running `loadtest`.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `classroom` binary: `$CLASSROOM_BIN`, else the workspace's build (release, then debug, in
/// `$CARGO_TARGET_DIR` or `target/`), else built here with `cargo build --release -p signaling`.
pub fn classroom_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CLASSROOM_BIN") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    for profile in ["release", "debug"] {
        let candidate = target.join(profile).join("classroom");
        if candidate.is_file() {
            return candidate;
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "signaling",
            "--bin",
            "classroom",
        ])
        .current_dir(&workspace)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the classroom server failed");
    target.join("release").join("classroom")
}

pub fn loadtest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(args)
        .output()
        .expect("loadtest runs")
}

/// A finished load run: what it printed and its JSON report.
#[allow(dead_code)] // Each test binary uses part of this module.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    /// The report as written (for assertion messages).
    pub text: String,
    pub report: serde_json::Value,
}

#[allow(dead_code)]
impl Run {
    /// The report's number at `key`; fails the test if it is missing.
    pub fn number(&self, key: &str) -> f64 {
        self.report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {}", self.text))
    }
}

/// Runs the load generator with `args` and `--json` to a temporary file named after `name`;
/// requires it to succeed and to finish within `limit` (a run never outlives its duration), and
/// reads the report.
#[allow(dead_code)]
pub fn run_with_report(name: &str, args: &[&str], limit: std::time::Duration) -> Run {
    let json = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
    let started = std::time::Instant::now();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--json", json.to_str().expect("utf-8 path")]);
    let out = loadtest(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "loadtest failed:\n{stdout}\n{stderr}");
    assert!(
        started.elapsed() < limit,
        "the run took {:?}",
        started.elapsed()
    );
    let text = std::fs::read_to_string(&json).expect("JSON written");
    let _ = std::fs::remove_file(&json);
    let report = serde_json::from_str(&text).expect("valid JSON");
    Run {
        stdout,
        stderr,
        text,
        report,
    }
}
