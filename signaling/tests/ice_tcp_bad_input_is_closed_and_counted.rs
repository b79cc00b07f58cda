//! What the ICE-TCP port does with input that is not a WebRTC peer's: each connection is closed
//! and counted by reason in `/metrics`, nothing is held afterwards, and a class keeps its media.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::metrics;
use common::peer::Peer;
use signaling::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server with one shard and ICE-TCP limits small enough to reach in a test.
async fn server() -> Server {
    server_with_first_stun_secs(1).await
}

async fn server_with_first_stun_secs(first_stun_secs: u64) -> Server {
    let mut config = common::test_config();
    config.media.shards = 1;
    // A class everyone left is freed at once, so teardown can be checked to zero.
    config.empty_class_linger_secs = 1;
    // A pupil dropped by the test (its socket closed) is freed soon, for the teardown checks.
    config.resume_grace_secs = 1;
    let tcp = &mut config.media.tcp;
    tcp.first_stun_secs = first_stun_secs;
    tcp.idle_secs = 2;
    tcp.max_per_address = 8;
    tcp.max_connections = 16;
    tcp.outbound_kib = 16;
    tcp.write_stall_secs = 2;
    common::start(config).await
}

fn tcp_port(server: &Server) -> SocketAddr {
    server.media_tcp_addrs()[0]
}

/// Connections closed for `reason`, from `/metrics`.
async fn closed(server: &Server, reason: &str) -> u64 {
    let (_, body) = common::http_get(server, "/metrics").await;
    let label = format!("reason=\"{reason}\"}} ");
    body.lines()
        .filter(|l| l.starts_with("classroom_shard_tcp_closed_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

/// Waits until `/metrics` (refreshed by the shard every 250 ms) counts `want` connections
/// closed for `reason`; returns the last count read.
async fn closed_reaches(server: &Server, reason: &str, want: u64) -> u64 {
    let deadline = Instant::now() + common::WAIT;
    loop {
        let now = closed(server, reason).await;
        if now >= want || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the server closes `stream` (reads return end of file or an error). Returns how
/// long it took, or `None` if it was still open after `limit`.
async fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(tcp_port(server)).await.expect("connect")
}

async fn nothing_held(server: &Server) {
    let settled = metrics::wait_for(server, &metrics::nothing(), common::WAIT).await;
    assert!(settled.is_ok(), "left behind: {settled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_says_nothing_is_closed_at_the_first_stun_deadline() {
    let server = server().await;
    let mut silent = connect(&server).await;
    let took = closed_by_server(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "a silent connection is closed (deadline 1 s)"
    );
    assert_eq!(closed_reaches(&server, "no_stun_in_time", 1).await, 1);
    nothing_held(&server).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_empty_frames_are_closed_at_once() {
    let server = server().await;
    // 2049: one byte over the limit; 65,535 with nothing behind it: never waited for; 0: empty.
    for header in [2049u16, 65_535, 0] {
        let mut stream = connect(&server).await;
        stream
            .write_all(&header.to_be_bytes())
            .await
            .expect("write");
        let took = closed_by_server(&mut stream, Duration::from_millis(900)).await;
        assert!(
            took.is_some(),
            "length {header} closed before the STUN deadline"
        );
    }
    assert_eq!(closed_reaches(&server, "bad_frame", 3).await, 3);
    nothing_held(&server).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_forged_stun_are_closed_at_their_first_frame() {
    let server = server().await;
    let class = common::create_class(&server).await;
    let _teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut frames: Vec<Vec<u8>> = vec![
        // A frame of bytes that are not STUN (an HTTP request, say).
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        // STUN-shaped, with a username naming no session.
        stun_shaped(b"nobody:x"),
    ];
    frames.push(vec![0x80; 200]);
    for packet in frames {
        let mut stream = connect(&server).await;
        let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&packet);
        stream.write_all(&framed).await.expect("write");
        let took = closed_by_server(&mut stream, Duration::from_millis(900)).await;
        assert!(
            took.is_some(),
            "closed at the first frame, before the deadline"
        );
    }
    assert_eq!(closed_reaches(&server, "not_stun", 3).await, 3);
    server.shutdown().await.expect("clean shutdown");
}

/// A STUN binding request header with a USERNAME attribute and no integrity.
fn stun_shaped(username: &[u8]) -> Vec<u8> {
    let padded = username.len().div_ceil(4) * 4;
    let mut m = vec![0x00, 0x01];
    m.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&[0x00, 0x06]);
    m.extend_from_slice(&(username.len() as u16).to_be_bytes());
    m.extend_from_slice(username);
    m.resize(20 + 4 + padded, 0);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connections_hold_only_the_caps_and_a_class_keeps_its_media() {
    // The STUN deadline is long here, so the held connections stay held while the rest come.
    let server = server_with_first_stun_secs(60).await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let addr = tcp_port(&server);
    // 2,000 connections from one address, then 100 from each of four others.
    let mut held = Vec::new();
    for i in 0..2000u32 {
        held.push(TcpStream::connect(addr).await.expect("connect"));
        if i % 200 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for host in 2..6u8 {
        let from = IpAddr::from([127, 0, 0, host]);
        for _ in 0..100 {
            held.push(common::tcp_from(addr, from).await);
        }
    }
    // Give the shard time to accept them all.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut over = 0;
    while Instant::now() < deadline {
        over = closed(&server, "over_cap").await;
        if over >= 2400 - 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let totals = metrics::totals(&server).await;
    assert_eq!(
        totals["classroom_shard_tcp_connections"], 16.0,
        "the shard's cap is held, no more: {totals:?}"
    );
    assert_eq!(
        over,
        2400 - 16,
        "every connection over a cap was closed: {totals:?}"
    );
    // Meanwhile, and after, a TCP pupil joins the class and both get media.
    let mut pupil = Peer::join_over_tcp(&server, &class, &class.pupil_token, "Pupil").await;
    drop(held);
    tokio::join!(
        teacher.run_for(Duration::from_secs(4)),
        pupil.run_for(Duration::from_secs(4))
    );
    assert!(pupil.connected, "a pupil still connects over TCP");
    assert!(pupil.from(&teacher.id).video_frames > 30);
    assert!(teacher.from(&pupil.id).video_frames > 30);
    teacher.leave().await;
    pupil.leave().await;
    nothing_held(&server).await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_closed_when_it_falls_silent() {
    let server = server().await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join_over_tcp(&server, &class, &class.pupil_token, "Pupil").await;
    tokio::join!(
        teacher.run_for(Duration::from_secs(2)),
        pupil.run_for(Duration::from_secs(2))
    );
    assert!(pupil.connected);
    // The pupil's machine stops (no FIN: its socket stays open, it sends and reads nothing).
    teacher.run_for(Duration::from_secs(4)).await;
    let totals = metrics::totals(&server).await;
    assert_eq!(totals["classroom_shard_tcp_connections"], 0.0, "{totals:?}");
    let idle = closed(&server, "idle").await + closed(&server, "session_ended").await;
    assert_eq!(idle, 1, "closed as silent (idle 2 s) or with its session");
    drop(pupil);
    teacher.leave().await;
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_loses_frames_then_its_connection_and_the_sender_goes_on() {
    let server = server().await;
    let class = common::create_class(&server).await;
    let mut teacher = Peer::join(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupil = Peer::join_over_tcp(&server, &class, &class.pupil_token, "Pupil").await;
    let mut other = Peer::join(&server, &class, &class.pupil_token, "Other").await;
    pupil.read_slowly();
    tokio::join!(
        teacher.run_for(Duration::from_secs(2)),
        pupil.run_for(Duration::from_secs(2)),
        other.run_for(Duration::from_secs(2))
    );
    assert!(pupil.connected);
    pupil.stop_reading = true;
    let before = other.from(&teacher.id);
    tokio::join!(
        teacher.run_for(Duration::from_secs(8)),
        pupil.run_for(Duration::from_secs(8)),
        other.run_for(Duration::from_secs(8))
    );
    let totals = metrics::totals(&server).await;
    assert!(
        totals["classroom_shard_tcp_frames_dropped_total"] > 0.0,
        "frames for the stopped reader were dropped: {totals:?}"
    );
    assert_eq!(closed_reaches(&server, "stalled", 1).await, 1, "{totals:?}");
    let after = other.from(&teacher.id);
    // 8 s at 30 fps; at least half of it on a loaded 2-core machine.
    assert!(
        after.video_frames - before.video_frames > 8 * 15,
        "the other pupil kept its video: {before:?} → {after:?}"
    );
    drop(pupil);
    teacher.leave().await;
    other.leave().await;
    nothing_held(&server).await;
    server.shutdown().await.expect("clean shutdown");
}
