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
