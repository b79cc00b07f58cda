//! What one client, or all of them, may take from a node: messages per second, message size,
//! classes per node, and which web pages may open a WebSocket.

pub mod origin;
pub mod rate;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::protocol::{ErrorCode, ProtocolError};

pub use origin::refuse_foreign_origin;
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
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            messages_per_sec: 20,
            message_burst: 50,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_rooms: 1000,
            // A class of 30 in Chromium re-offers about 60 m-lines: some 40 KiB.
            max_sdp_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            // A real client offers when it joins, shares or stops its screen, and restarts ICE:
            // a few a minute. 19 a second kept a shard busy before offers were parsed off it.
            offers_per_minute: 12,
            offer_burst: 5,
            max_mic_tracks: 1,
            max_camera_tracks: 1,
            max_screen_tracks: 1,
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
        Ok(())
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
