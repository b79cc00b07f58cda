//! A short real run: the loadtest spawns the real server, two classes of three pupils (one
//! talking) join with real signalling and ICE/DTLS/SRTP, and the JSON report shows media flowing.

mod common;

use std::time::Duration;

#[test]
fn two_small_classes_exchange_media_without_loss_or_errors() {
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
}
