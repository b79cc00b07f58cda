//! Ten pupils chat under the rate limit while three members stop reading their sockets. The slow
//! ones cost the class nothing: their queues stay bounded, each is closed with 4009 (after what it
//! had in flight) and may resume with the chat it missed, and every reader gets every message in
//! order.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{Client, Next, WAIT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use signaling::limits::TOO_SLOW_CLOSE_CODE;
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

const PUPILS: usize = 10;
const SLOW: usize = 3;
const OUTBOX: usize = 64;
/// Most chats each pupil sends; the test stops them once every slow member has overflowed
/// (on loopback the kernel buffers of a socket that is not read take a few MB first).
const MAX_CHATS_EACH: usize = 600;

/// A member that joins, then stops reading: its receive buffer is small, so the server's side
/// fills soon.
async fn slow_member(
    server: &signaling::Server,
    class: &common::Class,
    name: &str,
) -> (Client, String) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small buffer");
    let stream = socket.connect(server.http_addr).await.expect("connect");
    let url = format!("ws://{}/ws", server.http_addr);
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("handshake");
    let mut client = Client { ws };
    let welcome = client.join(class, &class.pupil_token, name).await;
    let token = welcome["resume_token"]
        .as_str()
        .expect("resume token")
        .to_owned();
    (client, token)
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("metric {name} in {text}"))
}

/// Reads chats until seq `last` (told through `total` once known); returns every chat seq.
async fn read_all_chats(mut client: Client, mut total: watch::Receiver<u64>) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        let last = *total.borrow();
        if last > 0 && seqs.last() == Some(&last) {
            return seqs;
        }
        tokio::select! {
            next = client.next() => match next {
                Next::Message(m) if m["type"] == "chat" => {
                    seqs.push(m["seq"].as_u64().expect("seq"));
                }
                Next::Message(_) => {}
                Next::Closed(code) => panic!("a reader was closed ({code:?})"),
            },
            _ = total.changed() => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_are_closed_and_may_resume_while_readers_get_everything() {
    let mut config = common::test_config();
    config.limits.outbox_messages = OUTBOX;
    // Long enough that the queue, not the stalled socket, is what closes the slow members.
    config.limits.send_timeout_secs = 60;
    config.chat_history = 2 * PUPILS * MAX_CHATS_EACH;
    let server = common::start(config).await;
    let class = common::create_class(&server).await;

    let (teacher, _, _) = Client::joined(&server, &class, &class.teacher_token, "Teacher").await;
    let mut pupils = Vec::new();
    for i in 0..PUPILS {
        let (pupil, _, _) =
            Client::joined(&server, &class, &class.pupil_token, &format!("Pupil {i}")).await;
        pupils.push(pupil);
    }
    let mut slow = Vec::new();
    for i in 0..SLOW {
        slow.push(slow_member(&server, &class, &format!("Slow {i}")).await);
    }

    // Every reader (the teacher and the ten pupils) reads all the time.
    let (total_tx, total_rx) = watch::channel(0u64);
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    let mut senders = Vec::new();
    readers.push(tokio::spawn(read_all_chats(teacher, total_rx.clone())));
    // Near the 2,000-character limit, 4 bytes each: the slow sockets fill sooner.
    let text = "\u{1F642}".repeat(1900);
    for pupil in pupils {
        let (mut sink, stream) = pupil.ws.split();
        let stop = stop.clone();
        let text = text.clone();
        senders.push(tokio::spawn(async move {
            let mut sent = 0;
            while sent < MAX_CHATS_EACH && !stop.load(Ordering::Relaxed) {
                let chat = json!({"type": "chat", "text": text}).to_string();
                sink.send(Message::Text(chat.into())).await.expect("send");
                sent += 1;
                // About 16 a second: under the limit of 20.
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            sent
        }));
        let total = total_rx.clone();
        readers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut seqs = Vec::new();
            let mut total = total;
            loop {
                let last = *total.borrow();
                if last > 0 && seqs.last() == Some(&last) {
                    return seqs;
                }
                tokio::select! {
                    frame = tokio::time::timeout(WAIT, stream.next()) => {
                        match frame.expect("the class keeps talking") {
                            Some(Ok(Message::Text(text))) => {
                                let m: Value = serde_json::from_str(&text).expect("json");
                                if m["type"] == "chat" {
                                    seqs.push(m["seq"].as_u64().expect("seq"));
                                }
                            }
                            Some(Ok(Message::Close(frame))) => panic!("a reader was closed: {frame:?}"),
                            Some(Ok(_)) => {}
                            other => panic!("a reader's socket ended: {other:?}"),
                        }
                    }
                    _ = total.changed() => {}
                }
            }
        }));
    }

    // Watch the node while the class chats: the queues stay bounded, and each slow member is
    // closed once its queue overflows.
    let mut most_queued = 0;
    let mut closed_slow = 0;
    for _ in 0..1000 {
        let (_, metrics) = common::http_get(&server, "/metrics").await;
        most_queued = most_queued.max(metric(&metrics, "classroom_outbox_queued_messages"));
        closed_slow = metric(
            &metrics,
            "classroom_sessions_closed_total{reason=\"too_slow_queue_full\"}",
        );
        if closed_slow >= SLOW as u64 || senders.iter().all(|s| s.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for sender in senders {
        total += sender.await.expect("sender") as u64;
    }
    eprintln!("{total} chats sent; at most {most_queued} messages queued on the node");
    assert_eq!(
        closed_slow, SLOW as u64,
        "each slow member overflowed its queue of {OUTBOX}"
    );
    let members = (1 + PUPILS + SLOW) as u64;
    assert!(
        most_queued <= members * OUTBOX as u64,
        "at most {OUTBOX} messages wait per member, {most_queued} did"
    );

    // Every reader got every chat, in order, none twice.
    total_tx.send(total).expect("readers wait");
    let expected: Vec<u64> = (1..=total).collect();
    for reader in readers {
        let seqs = tokio::time::timeout(WAIT * 3, reader)
            .await
            .expect("reader done in time")
            .expect("reader");
        assert_eq!(seqs, expected);
    }

    // A slow member that reads again gets what was in flight, then the close 4009; it resumes
    // and the chat it missed is replayed from where it stopped.
    for (mut client, token) in slow {
        let mut last_seen = 0;
        let code = loop {
            match client.next().await {
                Next::Message(m) if m["type"] == "chat" => {
                    let seq = m["seq"].as_u64().expect("seq");
                    assert_eq!(seq, last_seen + 1, "what arrives arrives in order");
                    last_seen = seq;
                }
                Next::Message(_) => {}
                Next::Closed(code) => break code,
            }
        };
        assert_eq!(code, Some(TOO_SLOW_CLOSE_CODE));
        assert!(last_seen < total, "it was closed before the end");
        let mut again = Client::connect(&server).await;
        again
            .send(json!({"type": "resume", "version": 1, "room": class.room,
                         "token": token, "last_chat_seq": last_seen}))
            .await;
        let resumed = again.expect_type("resumed").await;
        let replayed: Vec<u64> = resumed["chat"]
            .as_array()
            .expect("chat replay")
            .iter()
            .map(|c| c["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(replayed, ((last_seen + 1)..=total).collect::<Vec<_>>());
    }
    let (_, metrics) = common::http_get(&server, "/metrics").await;
    assert_eq!(metric(&metrics, "classroom_participants"), members);
    server.shutdown().await.expect("shutdown");
}
