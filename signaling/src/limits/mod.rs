//! What one client, or all of them, may take from a node: messages per second, message size,
//! classes per node, and which web pages may open a WebSocket.

pub mod origin;
pub mod per_address;
pub mod rate;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, ProtocolError};

pub use origin::{refuse_cross_site, refuse_foreign_origin};
pub use rate::{RateLimiter, TokenBucket, Verdict};

/// WebSocket close code for a client that kept flooding after being told to slow down.
pub const FLOOD_CLOSE_CODE: u16 = 4008;

/// Default largest frame a client may send.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The `[limits]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    /// Messages per second one connection may send, sustained.
    pub messages_per_sec: u32,
    /// Messages one connection may send in a burst above that rate.
    pub message_burst: u32,
    /// Largest message (WebSocket frame) a client may send, in bytes.
    pub max_message_bytes: usize,
    /// Most classes on this node; `POST /api/rooms` answers 503 beyond.
    pub max_rooms: usize,
    /// Seats of each class kept for teachers: pupils and observers fill at most
    /// `max_participants_per_room - teacher_seats`, so a class full of pupils still admits its
    /// teacher (and a co-teacher).
    pub teacher_seats: usize,
    /// Most lobby places one address (an IPv4 address or an IPv6 /64) may hold in one class, so
    /// one link opened many times cannot fill the lobby. A school behind one NAT shares one
    /// address: keep it above a class's size.
    pub lobby_places_per_address: usize,
    /// Classes one address may create a minute, sustained (`POST /api/rooms` answers 429 beyond).
    pub room_creations_per_minute: u32,
    /// Classes one address may create at once, above that rate.
    pub room_creation_burst: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            messages_per_sec: 20,
            message_burst: 50,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_rooms: 1000,
            teacher_seats: 2,
            lobby_places_per_address: 30,
            room_creations_per_minute: 20,
            room_creation_burst: 30,
        }
    }
}

impl LimitsSection {
    /// Checks the numbers make sense together.
    pub fn validate(&self) -> Result<(), String> {
        if self.messages_per_sec == 0 || self.message_burst == 0 {
            return Err("limits: messages_per_sec and message_burst must be at least 1".into());
        }
        // An SDP offer of a class with many m-lines is tens of KiB; below 16 KiB joins would fail.
        if !(16 * 1024..=16 * 1024 * 1024).contains(&self.max_message_bytes) {
            return Err("limits: max_message_bytes must be between 16384 and 16777216".into());
        }
        if self.max_rooms == 0 {
            return Err("limits: max_rooms must be at least 1".into());
        }
        if self.teacher_seats == 0 {
            return Err(
                "limits: teacher_seats must be at least 1 (a teacher must always get in)".into(),
            );
        }
        if self.lobby_places_per_address == 0 {
            return Err("limits: lobby_places_per_address must be at least 1".into());
        }
        if self.room_creations_per_minute == 0 || self.room_creation_burst == 0 {
            return Err(
                "limits: room_creations_per_minute and room_creation_burst must be at least 1"
                    .into(),
            );
        }
        Ok(())
    }

    /// The error for a message over the rate (`closing`: the last one, the session ends).
    pub fn rate_limited(&self, closing: bool) -> ProtocolError {
        let message = if closing {
            "too many messages for too long; the connection is closed".to_owned()
        } else {
            format!(
                "too many messages (at most {} a second, {} at once); this one was dropped",
                self.messages_per_sec, self.message_burst
            )
        };
        ProtocolError::new(ErrorCode::RateLimited, message)
    }

    /// A fresh limiter for one connection.
    pub fn rate_limiter(&self, now: std::time::Instant) -> RateLimiter {
        RateLimiter::new(self.messages_per_sec, self.message_burst, now)
    }
}

/// An HTTP refusal with a machine-readable code and a sentence for people:
/// `{"error": code, "message": message}`.
pub fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response()
}
