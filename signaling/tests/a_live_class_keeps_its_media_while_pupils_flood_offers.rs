//! Ten pupils of one class send large, valid offers as fast as the message rate lets them, on the
//! shard that also forwards a live class. Offers are parsed in the sessions (not on the shard) and
//! limited per participant, so the flood is refused early and the live class does not notice:
//! compared within this run, its media keeps flowing and the shard's hold time stays of the
//! same order as without the flood.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::peer::teacher_and_pupil_connected;
use common::{create_class, Client, Next};
use serde_json::{json, Value};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

const FLOODERS: usize = 10;
/// Each flooder's pace: just under the message rate (20/s), as in the report that found this.
const FLOOD_EVERY: Duration = Duration::from_millis(53);
const WINDOW: Duration = Duration::from_secs(3);

/// A valid offer like a teacher's in a big class: audio and camera, and many received m-lines.
fn big_offer(receiving: usize) -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let addr = "127.0.0.1:9".parse().expect("addr");
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    for _ in 0..receiving {
        change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    }
    let (offer, _) = change.apply().expect("offer");
    offer.to_sdp_string()
}

/// The hold-time histogram of shard 0: (upper bound in seconds, cumulative count).
async fn hold_histogram(server: &signaling::Server) -> Vec<(f64, f64)> {
    let (status, text) = common::http_get(server, "/metrics").await;
    assert_eq!(status, 200);
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("classroom_shard_hold_seconds_bucket{"))
        .filter(|l| l.contains("shard=\"0\""))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((bound, l.rsplit(' ').next()?.parse().ok()?))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(!buckets.is_empty(), "no hold histogram in /metrics");
    buckets
}

/// The bucket bound under which `share` of the datagrams between two snapshots were held, and
/// how many there were.
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], share: f64) -> (f64, f64) {
    let deltas: Vec<(f64, f64)> = after
        .iter()
        .zip(before)
        .map(|((bound, a), (_, b))| (*bound, a - b))
        .collect();
    let total = deltas.last().map_or(0.0, |d| d.1);
    let bound = deltas
        .iter()
        .find(|(_, n)| *n >= total * share)
        .map_or(f64::INFINITY, |d| d.0);
    (bound, total)
}

/// What one flooder got back.
#[derive(Debug, Default)]
struct Replies {
    sent: u32,
    by_kind: BTreeMap<String, u32>,
}

async fn flood(mut client: Client, offer: String, until: Instant) -> Replies {
    let mut replies = Replies::default();
    let message = json!({"type": "offer", "sdp": offer, "sources": {}}).to_string();
    while Instant::now() < until {
        client.send_text(message.clone()).await;
        replies.sent += 1;
        let next_send = tokio::time::Instant::now() + FLOOD_EVERY;
        // Read what came back meanwhile, so the server never waits on us.
        while let Ok(next) = tokio::time::timeout_at(next_send, client.next()).await {
            let Next::Message(value) = next else {
                panic!("a flooder within the message rate is not disconnected");
            };
            *replies.by_kind.entry(kind(&value)).or_default() += 1;
        }
    }
    replies
}

fn kind(value: &Value) -> String {
    match value["type"].as_str() {
        Some("error") => format!("error {}", value["code"].as_str().unwrap_or_default()),
        other => other.unwrap_or_default().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_class_keeps_its_media_while_pupils_flood_offers() {
    // One shard: the live class and the flooders' class share it.
    let (server, _live, mut teacher, mut pupil) = teacher_and_pupil_connected().await;
    let offer = big_offer(9);
    assert!(
        offer.len() > 30_000,
        "a large offer, as the flood used: {} bytes",
        offer.len()
    );
    let started = Instant::now();
    let parsed = sfu::ClientOffer::parse(&offer);
    eprintln!(
        "one {} byte offer parses in {:?}",
        offer.len(),
        started.elapsed()
    );
    assert!(parsed.is_ok());

    let noisy = create_class(&server).await;
    let mut flooders = Vec::new();
    for i in 0..FLOODERS {
        let (client, _, _) =
            Client::joined(&server, &noisy, &noisy.pupil_token, &format!("Flooder {i}")).await;
        flooders.push(client);
    }

    // The baseline: the live class alone for a window.
    let teacher_id = teacher.id.clone();
    let before = hold_histogram(&server).await;
    let frames_before = pupil.from(&teacher_id).video_frames;
    tokio::join!(teacher.run_for(WINDOW), pupil.run_for(WINDOW));
    let baseline = hold_histogram(&server).await;
    let frames_baseline = pupil.from(&teacher_id).video_frames;

    // The same window with the flood.
    let until = Instant::now() + WINDOW;
    let floods: Vec<_> = flooders
        .into_iter()
        .map(|client| tokio::spawn(flood(client, offer.clone(), until)))
        .collect();
    tokio::join!(teacher.run_for(WINDOW), pupil.run_for(WINDOW));
    let flooded = hold_histogram(&server).await;
    let frames_flooded = pupil.from(&teacher_id).video_frames;
    let mut totals = BTreeMap::<String, u32>::new();
    let mut sent = 0;
    for flood in floods {
        let replies = flood.await.expect("flooder ran");
        sent += replies.sent;
        for (kind, n) in replies.by_kind {
            *totals.entry(kind).or_default() += n;
        }
    }
    eprintln!("{sent} offers sent; replies: {totals:?}");

    // The flood was refused early: each flooder got its burst (and what the rate refilled)
    // answered, the rest was dropped with a clear error.
    let limits = signaling::Config::default().limits;
    let refill = (f64::from(limits.offers_per_minute) * WINDOW.as_secs_f64() / 60.0).ceil() as u32;
    let allowed = FLOODERS as u32 * (limits.offer_burst + refill + 1);
    let answered = totals.get("answer").copied().unwrap_or(0);
    let limited = totals.get("error offer_rate_limited").copied().unwrap_or(0);
    assert!(answered <= allowed, "{answered} offers reached the shard");
    assert!(
        limited >= sent / 2,
        "most offers refused: {limited} of {sent}"
    );

    // The live class kept its media: as many frames (give or take a loaded machine) ...
    let baseline_frames = frames_baseline - frames_before;
    let flooded_frames = frames_flooded - frames_baseline;
    eprintln!("live video frames: {baseline_frames} alone, {flooded_frames} under the flood");
    assert!(baseline_frames > 30, "{baseline_frames}");
    assert!(
        flooded_frames * 10 >= baseline_frames * 7,
        "{flooded_frames} frames under the flood vs {baseline_frames} without"
    );
    // ... and the shard held most datagrams as briefly: the median within a bucket or two of
    // the baseline's. (The tail is printed, not asserted: on a loaded two-core machine the flood's
    // JSON alone takes CPU from the shard thread, see the report of issue 9.)
    let (p50_alone, n_alone) = quantile(&before, &baseline, 0.5);
    let (p50_flood, n_flood) = quantile(&baseline, &flooded, 0.5);
    let (p99_alone, _) = quantile(&before, &baseline, 0.99);
    let (p99_flood, _) = quantile(&baseline, &flooded, 0.99);
    eprintln!(
        "hold p50 / p99: {p50_alone} / {p99_alone} s alone ({n_alone} datagrams), \
         {p50_flood} / {p99_flood} s flooded ({n_flood})"
    );
    assert!(n_alone > 100.0 && n_flood > 100.0);
    assert!(
        p50_flood <= p50_alone * 4.0,
        "hold p50 {p50_flood} s under the flood vs {p50_alone} s without"
    );

    teacher.leave().await;
    pupil.leave().await;
    server.shutdown().await.expect("shutdown");
}
