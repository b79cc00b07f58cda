//! The writing half of a session's socket: the outbox to the client, each frame within the send
//! timeout, then the close; and the short wait for the client's close reply.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;

use crate::limits::outbox::OutboxReceiver;
use crate::limits::TOO_SLOW_CLOSE_CODE;
use crate::protocol::ServerMessage;

/// How long a closing session waits for the client's close reply.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// How a session ends, from our side.
#[derive(Debug, Clone, Copy)]
pub(super) struct Close {
    pub(super) code: u16,
    pub(super) reason: &'static str,
    /// The member stays in the class for the grace period and may resume (the connection is
    /// treated as dropped), instead of leaving now.
    pub(super) resumable: bool,
}

impl Close {
    pub(super) const fn new(code: u16, reason: &'static str) -> Close {
        Close {
            code,
            reason,
            resumable: false,
        }
    }

    pub(super) const BYE: Close = Close::new(1000, "bye");

    pub(super) const TOO_SLOW: Close = Close {
        code: TOO_SLOW_CLOSE_CODE,
        reason: "too slow to read",
        resumable: true,
    };
}

/// Why the writer stopped before the session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriterEnd {
    /// The socket broke.
    Broken,
    /// The socket took nothing for the send timeout.
    Stalled,
    /// The outbox overflowed; the close (4009) has been written, if the socket took it.
    Overflowed,
    /// Wrote everything and the close the session asked for.
    Closed,
    /// Wrote a `bye` (the class ended this session: kicked, denied, class over, replaced) and
    /// the close after it.
    Bye,
}

/// After we sent a close, waits (briefly) for the client's close reply. Dropping a socket that
/// still has unread input makes the kernel reset the connection, and a reset can overtake the
/// error and close frame we just sent.
pub(super) async fn linger(stream: &mut futures_util::stream::SplitStream<WebSocket>) {
    let deadline = tokio::time::Instant::now() + LINGER;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Err(_) => return,
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_)) | None) => {
                // The stream cannot read on (e.g. after an oversized frame): give the client a
                // moment to read what we sent before the reset.
                let soon = tokio::time::Instant::now() + LINGER / 4;
                tokio::time::sleep_until(soon.min(deadline)).await;
                return;
            }
        }
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Writes the outbox to the socket until the session closes (then what is still queued, and the
/// close frame) or the outbox overflows (then the close 4009). Each frame must be taken by the
/// socket within `send_timeout`, or the writer gives up (`Stalled`).
pub(super) async fn write_out(
    mut sink: Sink,
    mut out_rx: OutboxReceiver,
    mut closing: oneshot::Receiver<Close>,
    send_timeout: std::time::Duration,
) -> WriterEnd {
    let close = loop {
        let next = tokio::select! {
            biased;
            next = out_rx.recv() => next,
            close = &mut closing => match close {
                Ok(close) => break close,
                // The session is gone without a word: nothing more to write.
                Err(_) => return WriterEnd::Broken,
            },
        };
        let Ok(message) = next else {
            break Close::TOO_SLOW;
        };
        let bye = matches!(message, ServerMessage::Bye { .. });
        // A client that stopped reading holds this send; if its outbox overflows meanwhile, the
        // close is queued behind what the socket already has, for the client to read last.
        let overflowed = tokio::select! {
            sent = send(&mut sink, text_frame(&message), send_timeout) => match sent {
                Ok(()) => false,
                Err(end) => return end,
            },
            () = out_rx.overflowed() => true,
        };
        if overflowed {
            break Close::TOO_SLOW;
        }
        if bye {
            // The session's own goodbyes (leave, shutdown) come with the close it chose, set
            // before this future ran again (both run in one task); the class's come alone.
            break closing.try_recv().unwrap_or(Close::BYE);
        }
    };
    let end = if close.code == TOO_SLOW_CLOSE_CODE {
        WriterEnd::Overflowed
    } else if close.reason == Close::BYE.reason {
        WriterEnd::Bye
    } else {
        while let Some(message) = out_rx.try_recv() {
            if let Err(end) = send(&mut sink, text_frame(&message), send_timeout).await {
                return end;
            }
        }
        WriterEnd::Closed
    };
    let frame = CloseFrame {
        code: close.code,
        reason: Utf8Bytes::from_static(close.reason),
    };
    match send(&mut sink, Message::Close(Some(frame)), send_timeout).await {
        Ok(()) => end,
        Err(failed) => failed,
    }
}

/// Writes one frame, within `send_timeout`.
async fn send(
    sink: &mut Sink,
    message: Message,
    send_timeout: std::time::Duration,
) -> Result<(), WriterEnd> {
    match tokio::time::timeout(send_timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(WriterEnd::Broken),
        Err(_) => Err(WriterEnd::Stalled),
    }
}

fn text_frame(message: &ServerMessage) -> Message {
    // Serializing our own enum of strings, numbers and maps cannot fail; an empty object would
    // be caught by the client's parser if it ever did.
    let text = serde_json::to_string(message).unwrap_or_else(|_| "{}".to_owned());
    Message::Text(text.into())
}
