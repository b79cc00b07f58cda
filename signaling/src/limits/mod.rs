//! What one client, or all of them, may take from a node: messages per second, message size,
//! classes per node, which web pages may open a WebSocket, how much may wait for a slow reader,
//! and how many connections (from one address, and in all) the node holds and for how long.

pub mod connections;
pub mod counters;
pub mod origin;
pub mod outbox;
pub mod per_address;
pub mod rate;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, ProtocolError};

pub use origin::{refuse_cross_site, refuse_foreign_origin};
pub use rate::{RateLimiter, TokenBucket, Verdict};

/// WebSocket close code for a client that kept flooding after being told to slow down.
pub const FLOOD_CLOSE_CODE: u16 = 4008;

/// WebSocket close code for a client that does not read what the class sends it fast enough
/// (its queue overflowed, or its socket took nothing for `send_timeout_secs`). It is a dropped
/// connection: the client may `resume`.
pub const TOO_SLOW_CLOSE_CODE: u16 = 4009;

/// WebSocket close code for a connection that sent no successful `join` or `resume` within
/// `join_deadline_secs` of opening.
pub const JOIN_DEADLINE_CLOSE_CODE: u16 = 4010;

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
    /// Messages that may wait for one session's socket. Past it, state updates are coalesced
    /// and speaker/pong dropped; a message that cannot be dropped closes the session (4009).
    pub outbox_messages: usize,
    /// Seconds a session's socket may take nothing at all before the session is closed (4009).
    pub send_timeout_secs: u64,
    /// Seconds a new WebSocket has to `join` or `resume` before it is closed (4010).
    pub join_deadline_secs: u64,
    /// Seconds an HTTP connection may take to send a request's headers, and may stay idle
    /// between requests (keep-alive), before it is closed.
    pub http_header_timeout_secs: u64,
    /// Most connections (HTTP and WebSocket) the node holds; lowered at start to fit the open
    /// file limit. Past it, new connections get only `/healthz`, or are closed at once.
    pub max_connections: usize,
    /// Most connections from one IPv4 address or IPv6 /64. A school behind one NAT address
    /// shares it: about 2 per pupil online.
    pub max_connections_per_address: usize,
    /// Largest SDP offer or answer a client may send, in bytes (`sdp_too_large` beyond).
    pub max_sdp_bytes: usize,
    /// SDP offers one participant may send a minute, sustained (`offer_rate_limited` beyond).
    pub offers_per_minute: u32,
    /// Offers one participant may send at once above that rate.
    pub offer_burst: u32,
    /// Microphone tracks one participant may send (`too_many_tracks` beyond).
    pub max_mic_tracks: usize,
    /// Camera tracks one participant may send.
    pub max_camera_tracks: usize,
    /// Screen-share tracks one participant may send.
    pub max_screen_tracks: usize,
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
            outbox_messages: 512,
            send_timeout_secs: 10,
            join_deadline_secs: 10,
            http_header_timeout_secs: 20,
            max_connections: 10_000,
            max_connections_per_address: 256,
            // A class of 30 in Chromium re-offers about 60 m-lines: some 40 KiB.
            max_sdp_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            // A real client offers when it joins, shares or stops its screen, and restarts ICE:
            // a few a minute. 19 a second kept a shard busy before offers were parsed off it.
            offers_per_minute: 12,
            offer_burst: 5,
            max_mic_tracks: 1,
            max_camera_tracks: 1,
            max_screen_tracks: 1,
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
        // Below a few dozen, a class of 30 joining at once would overflow an attentive reader.
        if !(32..=65_536).contains(&self.outbox_messages) {
            return Err("limits: outbox_messages must be between 32 and 65536".into());
        }
        let timeouts = [
            ("send_timeout_secs", self.send_timeout_secs),
            ("join_deadline_secs", self.join_deadline_secs),
            ("http_header_timeout_secs", self.http_header_timeout_secs),
        ];
        for (name, secs) in timeouts {
            if !(1..=3600).contains(&secs) {
                return Err(format!("limits: {name} must be between 1 and 3600"));
            }
        }
        if self.max_connections == 0 || self.max_connections_per_address == 0 {
            return Err(
                "limits: max_connections and max_connections_per_address must be at least 1".into(),
            );
        }
        if !(4 * 1024..=16 * 1024 * 1024).contains(&self.max_sdp_bytes) {
            return Err("limits: max_sdp_bytes must be between 4096 and 16777216".into());
        }
        if self.offers_per_minute == 0 || self.offer_burst == 0 {
            return Err("limits: offers_per_minute and offer_burst must be at least 1".into());
        }
        // More than a handful per source buys nothing a class needs, and each sending m-line is a
        // track forwarded to everyone: keep a typo from inviting floods.
        let tracks = [
            self.max_mic_tracks,
            self.max_camera_tracks,
            self.max_screen_tracks,
        ];
        if tracks.iter().any(|n| *n > 4) {
            return Err(
                "limits: max_mic_tracks, max_camera_tracks and max_screen_tracks are at most 4"
                    .into(),
            );
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

    /// How long a session's socket may take nothing before the session is closed.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs)
    }

    /// How long a new WebSocket has to join.
    pub fn join_deadline(&self) -> Duration {
        Duration::from_secs(self.join_deadline_secs)
    }

    /// How long an HTTP connection may take over a request's headers, or idle between requests.
    pub fn http_header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_secs)
    }

    /// Tracks of `source` one participant may send.
    pub fn tracks_of(&self, source: sfu::TrackSource) -> usize {
        match source {
            sfu::TrackSource::Mic => self.max_mic_tracks,
            sfu::TrackSource::Camera => self.max_camera_tracks,
            sfu::TrackSource::Screen => self.max_screen_tracks,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_new_bound_is_checked() {
        assert_eq!(LimitsSection::default().validate(), Ok(()));
        let bad = [
            LimitsSection {
                outbox_messages: 8,
                ..LimitsSection::default()
            },
            LimitsSection {
                send_timeout_secs: 0,
                ..LimitsSection::default()
            },
            LimitsSection {
                join_deadline_secs: 0,
                ..LimitsSection::default()
            },
            LimitsSection {
                http_header_timeout_secs: 100_000,
                ..LimitsSection::default()
            },
            LimitsSection {
                max_connections: 0,
                ..LimitsSection::default()
            },
            LimitsSection {
                max_connections_per_address: 0,
                ..LimitsSection::default()
            },
        ];
        for limits in bad {
            assert!(limits.validate().is_err(), "{limits:?}");
        }
    }
}
