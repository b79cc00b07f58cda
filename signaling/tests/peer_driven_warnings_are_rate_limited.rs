//! A peer that keeps sending what str0m warns about (here an offer whose m-line has no `a=mid`)
//! gets a few log lines per minute, not one per message; the rest are counted and summed up.
//! And the binary writes plain text, without colour codes, when its stderr is not a terminal.

mod common;

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::binary;
use signaling::log_limit::{self, WarningLimiter, BURST};
use str0m::change::SdpOffer;
use tracing_subscriber::layer::SubscriberExt;

/// An offer str0m refuses with a warning of its own (`Media is missing a=mid`).
const OFFER_WITHOUT_MID: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n\
     a=sendrecv\r\n";

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[test]
fn a_repeated_str0m_warning_is_logged_a_few_times_then_counted() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::INFO)
        .with(WarningLimiter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        );
    let offers = 200;
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..offers {
            assert!(SdpOffer::from_sdp_string(OFFER_WITHOUT_MID).is_err());
        }
        log_limit::report_suppressed();
    });
    let text = captured.text();
    let logged = text.matches("Media is missing a=mid").count();
    assert!(logged >= 1, "the warning is logged at first: {text}");
    assert!(
        logged <= BURST as usize,
        "{logged} lines for {offers} bad offers: at most {BURST}"
    );
    let summary = text
        .lines()
        .find(|l| l.contains("repeated warnings were not logged") && l.contains("str0m"))
        .unwrap_or_else(|| panic!("a summary names the call site: {text}"));
    let suppressed: u64 = summary
        .split("suppressed=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("suppressed=N");
    println!("{offers} bad offers: {logged} warning lines logged, {suppressed} suppressed");
    assert!(suppressed >= (offers - BURST as usize) as u64, "{summary}");
    assert_eq!(log_limit::suppressed_total(), suppressed);
    assert!(
        !text.contains("IN IP4"),
        "nothing the peer sent is in the summary"
    );
}

#[test]
fn the_binary_logs_without_colour_codes_when_not_on_a_terminal() {
    let mut command = Command::new(binary::BIN);
    command.args(binary::EPHEMERAL).env("RUST_LOG", "info");
    let mut child = binary::spawn_command(command);
    binary::listening_addr(&mut child);
    binary::signal(&child, "TERM");
    binary::wait_exit(&mut child);
    let stderr = binary::stderr_of(&mut child);
    assert!(stderr.contains("classroom started"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr:?}");
}
