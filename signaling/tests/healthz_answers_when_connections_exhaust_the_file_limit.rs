//! The `classroom` binary under a small open file limit (256, as a careless service unit might
//! leave it), flooded with idle connections from one machine: it fits its connection cap under
//! the limit, never runs out of file descriptors, and `/healthz` still answers for everyone else.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use common::binary;
use tokio::net::TcpStream;

const FILE_LIMIT: usize = 256;
const FLOOD: usize = 600;

async fn get_from(addr: SocketAddr, from: [u8; 4], path: &str) -> (u16, String) {
    common::http_get_from(addr, IpAddr::from(from), path).await
}

#[tokio::test]
async fn healthz_answers_while_idle_connections_flood_a_small_file_limit() {
    // `ulimit -n` in sh sets the hard limit too, so the binary cannot raise it.
    let mut command = Command::new("sh");
    command
        .args([
            "-c",
            &format!("ulimit -n {FILE_LIMIT} && exec \"$0\" \"$@\""),
        ])
        .arg(binary::BIN)
        .args(binary::EPHEMERAL)
        .env("RUST_LOG", "warn");
    let mut child = binary::spawn_command(command);
    let addr: SocketAddr = binary::listening_addr(&mut child).parse().expect("address");

    // Idle connections from one machine, far more than the file limit allows.
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        if let Ok(stream) = TcpStream::connect(addr).await {
            flood.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another machine's monitoring still gets its answer; anything else is told why not.
    let other = [127, 0, 0, 2];
    assert_eq!(get_from(addr, other, "/healthz").await, (200, "ok".into()));
    let (status, body) = get_from(addr, other, "/").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("server_full"), "{body}");

    // The flood leaves: the node serves again.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get_from(addr, other, "/").await.0 != 200 {
        assert!(Instant::now() < deadline, "places were not freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, metrics) = get_from(addr, other, "/metrics").await;
    assert_eq!(status, 200);
    let shed_line = metrics
        .lines()
        .find(|l| l.starts_with("classroom_connections_refused_total{reason=\"shed\"}"))
        .expect("shed counter");
    assert!(!shed_line.ends_with(" 0"), "{shed_line}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
    let stderr = binary::stderr_of(&mut child);
    assert!(
        stderr.contains("max_connections lowered to fit under the open file limit"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("cannot accept connections"),
        "the node never ran out of file descriptors: {stderr}"
    );
}
