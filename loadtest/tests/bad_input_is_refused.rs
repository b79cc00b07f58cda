//! Wrong arguments, a server off this machine and an unreachable server each get a clear message
//! and a non-zero exit, quickly and without sending anything.

mod common;

use std::time::{Duration, Instant};

fn refused(args: &[&str], expect_in_message: &str) {
    let started = Instant::now();
    let out = common::loadtest(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail");
    assert!(
        stderr.contains(expect_in_message),
        "{args:?}: expected `{expect_in_message}` in:\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{args:?} took too long"
    );
}

#[test]
fn non_loopback_servers_are_refused() {
    for url in [
        "http://10.1.2.3:8080",
        "http://192.168.0.10",
        "http://example.org:8080",
        "http://[2001:db8::1]:8080",
    ] {
        refused(&["--server", url, "--duration", "5s"], "only loopback");
    }
}

#[test]
fn bad_arguments_get_a_message() {
    refused(&["--classes", "2"], "--server");
    for layers in ["0", "4"] {
        refused(
            &[
                "--server",
                "http://127.0.0.1:1",
                "--simulcast-layers",
                layers,
            ],
            "--simulcast-layers must be 1, 2 or 3",
        );
    }
    refused(
        &["--server", "http://127.0.0.1:1", "--classes", "many"],
        "invalid value",
    );
    refused(
        &["--server", "http://127.0.0.1:1", "--duration", "soon"],
        "not a duration",
    );
    refused(
        &[
            "--server",
            "http://127.0.0.1:1",
            "--pupils",
            "2",
            "--talkers",
            "3",
        ],
        "cannot exceed",
    );
    refused(
        &[
            "--server",
            "http://127.0.0.1:1",
            "--classes",
            "10",
            "--duration",
            "2s",
        ],
        "too short",
    );
    refused(&["--no-such-flag"], "unexpected argument");
}

#[test]
fn an_unreachable_server_is_reported() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    refused(
        &[
            "--server",
            "http://127.0.0.1:1",
            "--pupils",
            "2",
            "--talkers",
            "0",
            "--duration",
            "5s",
        ],
        "cannot create a class",
    );
    refused(
        &["--spawn-server", "/nonexistent/classroom"],
        "no such file",
    );
}

#[test]
fn an_unknown_target_is_refused() {
    refused(&["--target", "mediasoup"], "invalid value 'mediasoup'");
}

#[test]
fn a_missing_janus_is_reported() {
    refused(
        &["--target", "janus", "--janus", "/nonexistent/janus"],
        "Janus is not installed",
    );
}

#[test]
fn a_janus_that_fails_to_start_is_reported_with_its_output() {
    // A stand-in laid out like an installed Janus (bin/ and lib/janus/{plugins,transports}) that
    // complains and exits at once.
    let root = std::env::temp_dir().join(format!("loadtest-fake-janus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for folder in ["bin", "lib/janus/plugins", "lib/janus/transports"] {
        std::fs::create_dir_all(root.join(folder)).expect("temp dir");
    }
    std::fs::write(root.join("lib/janus/plugins/libjanus_videoroom.so"), "").expect("write");
    std::fs::write(root.join("lib/janus/transports/libjanus_websockets.so"), "").expect("write");
    let binary = root.join("bin/janus");
    std::fs::write(
        &binary,
        "#!/bin/sh\necho 'first line'\necho '[FATAL] configuration is broken' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    refused(
        &[
            "--target",
            "janus",
            "--janus",
            binary.to_str().expect("utf-8"),
        ],
        "[FATAL] configuration is broken",
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_classroom_target_needs_a_server() {
    refused(&["--target", "both"], "--spawn-server");
    refused(
        &["--server-cpu", "1", "--server", "http://127.0.0.1:1"],
        "--server-cpu",
    );
}
