//! A short real run: the loadtest spawns the real server, two classes of three pupils (one
//! talking) join with real signalling and ICE/DTLS/SRTP, half of them over ICE-TCP, and the JSON
//! report shows media flowing on both transports.

mod common;

use std::time::Duration;

#[test]
fn two_small_classes_exchange_media_over_udp_and_tcp_without_loss_or_errors() {
    let server = common::classroom_bin();
    let run = common::run_with_report(
        "loadtest-smoke",
        &[
            "--spawn-server",
            server.to_str().expect("utf-8 path"),
            "--classes",
            "2",
            "--pupils",
            "3",
            "--talkers",
            "1",
            "--duration",
            "5s",
            "--tcp-share",
            "0.5",
        ],
        Duration::from_secs(15),
    );
    let (report, text, number) = (&run.report, &run.text, |key: &str| run.number(key));
    assert_eq!(number("classes"), 2.0);
    assert_eq!(number("participants"), 8.0);
    assert_eq!(number("connected"), 8.0, "{text}");
    assert!(number("forwarded_packets_per_s") > 0.0, "{text}");
    assert!(number("loss_ratio") < 0.05, "{text}");
    assert_eq!(number("errors"), 0.0, "{text}");
    assert!(number("sfu_cpu_us_per_forwarded_packet") > 0.0, "{text}");
    assert!(report["latency_ms"]["p50"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
    assert!(report["latency_ms"]["p99"].is_number() && report["latency_ms"]["max"].is_number());
    assert!(report["join_to_first_media_ms"]["p50"]
        .as_f64()
        .is_some_and(|v| v > 0.0));
    assert!(report["join_to_first_media_ms"]["p99"].is_number());
    let transports = report["by_transport"].as_array().expect("by_transport");
    assert_eq!(transports.len(), 2, "{text}");
    for (transport, name) in transports.iter().zip(["udp", "tcp"]) {
        assert_eq!(transport["transport"], name, "{text}");
        // Every other participant of each class: 4 of the 8 on each transport.
        assert_eq!(transport["participants"], 4, "{text}");
        assert_eq!(transport["connected"], 4, "{text}");
        assert!(
            transport["forwarded_packets_per_s"].as_f64() > Some(0.0),
            "{text}"
        );
        assert!(transport["loss_ratio"].as_f64() < Some(0.05), "{text}");
        assert!(
            transport["audio_latency_ms"]["count"].as_u64() > Some(0),
            "{text}"
        );
    }
    let shards = report["shards"].as_array().expect("shards");
    assert!(!shards.is_empty(), "{text}");
    let sum = |key: &str| shards.iter().filter_map(|s| s[key].as_f64()).sum::<f64>();
    assert!(sum("udp_datagrams_out_per_s") > 0.0, "{text}");
    assert!(sum("tcp_frames_out_per_s") > 0.0, "{text}");
    assert!(sum("cpu_percent") > 0.0, "{text}");
}
