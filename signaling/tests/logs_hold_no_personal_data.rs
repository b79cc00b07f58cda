//! What a school's data protection officer is promised in `docs/PRIVACY.md`: at `info` (the
//! default level), the logs of a whole lesson hold no name, no chat text, no participant address
//! and no secret link or token. The lesson here is real: two peers from their own loopback
//! addresses, with real ICE/DTLS/SRTP, chat, a raised hand, a dropped and resumed connection, a
//! refused action and a kick.

mod common;

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::peer::Peer;
use common::{create_class, start, test_config, Client};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

const TEACHER_NAME: &str = "Zéphyrine Quillembert";
const PUPIL_NAME: &str = "Anatole Brisebarre";
const LATE_PUPIL_NAME: &str = "Oriane Vasseur-Lamotte";
const CHAT_TEXT: &str = "my answer to question seven is 4817";
const TEACHER_IP: &str = "127.0.0.77";
const PUPIL_IP: &str = "127.0.0.78";
const LATE_PUPIL_IP: &str = "127.0.0.79";

/// Everything the node logs, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lesson_leaves_no_name_chat_address_or_token_in_the_info_logs() {
    let logs = Captured::default();
    // The binary's default: `info` unless RUST_LOG says otherwise (here it may not).
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let mut config = test_config();
    config.media.shards = 1;
    let server = start(config).await;
    let class = create_class(&server).await;
    let mut teacher = Peer::join_from(
        &server,
        &class,
        &class.teacher_token,
        TEACHER_NAME,
        None,
        ip(TEACHER_IP),
    )
    .await;
    let mut pupil = Peer::join_from(
        &server,
        &class,
        &class.pupil_token,
        PUPIL_NAME,
        None,
        ip(PUPIL_IP),
    )
    .await;
    for peer in [&mut teacher, &mut pupil] {
        assert!(
            peer.run_until_connected(Duration::from_secs(10)).await,
            "{} connects its media",
            peer.id
        );
    }
    pupil.send(json!({"type": "raise_hand"})).await;
    pupil.send(json!({"type": "chat", "text": CHAT_TEXT})).await;
    for _ in 0..20 {
        teacher.run_for(Duration::from_millis(50)).await;
        pupil.run_for(Duration::from_millis(50)).await;
    }
    let teacher_id = teacher.id.clone();
    assert!(
        pupil.from(&teacher_id).video_frames > 0,
        "the lesson is real: the pupil received the teacher's video"
    );
    let resumed = pupil.drop_and_resume(&server, &class).await;
    assert_eq!(resumed["type"], "resumed");

    let (mut late, late_id, welcome) = {
        let mut client = Client::connect_bound(&server, ip(LATE_PUPIL_IP)).await;
        let welcome = client
            .join(&class, &class.pupil_token, LATE_PUPIL_NAME)
            .await;
        let id = welcome["you"]["id"].as_str().expect("id").to_owned();
        (client, id, welcome)
    };
    let late_resume_token = welcome["resume_token"].as_str().unwrap_or_default();
    // Refused: a pupil may not mute the teacher (an error path logs too).
    late.refused(
        json!({"type": "mute", "participant": teacher.id}),
        "forbidden",
    )
    .await;
    teacher
        .send(json!({"type": "kick", "participant": late_id, "bar": true}))
        .await;
    let _ = late.expect_type("bye").await;
    teacher.run_for(Duration::from_millis(200)).await;
    let pupil_resume_token = pupil.resume_token.clone();
    pupil.leave().await;
    teacher.leave().await;
    server.shutdown().await.expect("clean shutdown");

    let text = logs.text();
    assert!(
        text.contains("joined a class") && text.contains("class created"),
        "the capture saw the lesson's info lines:\n{text}"
    );
    let secrets = [
        ("the teacher's name", TEACHER_NAME),
        ("a pupil's name", PUPIL_NAME),
        ("a kicked pupil's name", LATE_PUPIL_NAME),
        ("chat text", CHAT_TEXT),
        ("the teacher's address", TEACHER_IP),
        ("a pupil's address", PUPIL_IP),
        ("a kicked pupil's address", LATE_PUPIL_IP),
        ("the teacher link's token", class.teacher_token.as_str()),
        ("the pupil link's token", class.pupil_token.as_str()),
        ("the observer link's token", class.observer_token.as_str()),
        ("a resume token", pupil_resume_token.as_str()),
        ("a resume token", late_resume_token),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty(), "{what} is known to the test");
        assert!(
            !text.contains(secret),
            "{what} ({secret:?}) appears in the info logs:\n{text}"
        );
    }
    // Each name's parts alone, too (a log line could hold a first name).
    for part in [TEACHER_NAME, PUPIL_NAME, LATE_PUPIL_NAME]
        .iter()
        .flat_map(|n| n.split([' ', '-']))
    {
        assert!(!text.contains(part), "{part:?} appears in the info logs");
    }
}
