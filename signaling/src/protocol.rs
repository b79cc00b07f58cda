//! The JSON wire protocol between the browser and the server (see `docs/PROTOCOL.md`).
//!
//! One tagged enum per direction: the `type` field names the variant. Parsing is done in two steps
//! so that a frame that is not JSON, a `type` we do not know and a known `type` with wrong fields
//! each get their own error code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every `type` a client may send, for telling "unknown type" from "bad fields".
const CLIENT_TYPES: [&str; 6] = ["join", "offer", "answer", "media_state", "leave", "ping"];

/// A message from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join {
        version: u32,
        room: String,
        token: String,
        name: String,
        /// What the client's m-lines carry, by mid (optional; see `TrackSource`).
        #[serde(default)]
        sources: BTreeMap<String, TrackSource>,
    },
    Offer {
        sdp: String,
        /// As in `join`; when present it replaces the earlier declaration.
        #[serde(default)]
        sources: Option<BTreeMap<String, TrackSource>>,
    },
    Answer {
        sdp: String,
    },
    MediaState {
        audio: bool,
        video: bool,
    },
    Leave,
    Ping,
}

/// A participant as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub audio: bool,
    pub video: bool,
}

/// What a participant may do in the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Teacher,
    Pupil,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

/// What a published track carries. Undeclared audio is the microphone, undeclared video the
/// camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Mic,
    Camera,
    Screen,
}

impl From<TrackSource> for sfu::TrackSource {
    fn from(source: TrackSource) -> Self {
        match source {
            TrackSource::Mic => sfu::TrackSource::Mic,
            TrackSource::Camera => sfu::TrackSource::Camera,
            TrackSource::Screen => sfu::TrackSource::Screen,
        }
    }
}

impl From<sfu::TrackSource> for TrackSource {
    fn from(source: sfu::TrackSource) -> Self {
        match source {
            sfu::TrackSource::Mic => TrackSource::Mic,
            sfu::TrackSource::Camera => TrackSource::Camera,
            sfu::TrackSource::Screen => TrackSource::Screen,
        }
    }
}

/// Why the server ends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    Left,
    MediaFailed,
    ShuttingDown,
}

/// A message to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        version: u32,
        room: String,
        you: ParticipantInfo,
        participants: Vec<ParticipantInfo>,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    TrackAdded {
        mid: String,
        participant: String,
        kind: TrackKind,
        source: TrackSource,
    },
    TrackRemoved {
        mid: String,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        id: String,
    },
    ParticipantUpdated {
        participant: ParticipantInfo,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Bye {
        reason: ByeReason,
    },
    Pong,
}

/// What was wrong with what the client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    UnknownType,
    BadMessage,
    NotJoined,
    AlreadyJoined,
    UnsupportedVersion,
    BadName,
    NoSuchRoom,
    BadToken,
    TokenExpired,
    RoomFull,
    BadSdp,
    NoUsableCodec,
    RenegotiationBusy,
    UnexpectedAnswer,
    MessageTooLarge,
    BinaryNotSupported,
    ServerError,
}

impl ErrorCode {
    /// The WebSocket close code to end the session with, when continuing makes no sense.
    pub fn close_code(self) -> Option<u16> {
        match self {
            ErrorCode::UnsupportedVersion => Some(4000),
            ErrorCode::BadToken | ErrorCode::TokenExpired => Some(4001),
            ErrorCode::RoomFull => Some(4003),
            ErrorCode::NoSuchRoom => Some(4004),
            ErrorCode::MessageTooLarge => Some(1009),
            ErrorCode::ServerError => Some(1011),
            _ => None,
        }
    }
}

/// A client message that could not be understood, with the error to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtocolError {
            code,
            message: message.into(),
        }
    }

    /// The error as the message the client gets.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            code: self.code,
            message: self.message.clone(),
        }
    }
}

/// Parses one text frame from a client.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ProtocolError::new(ErrorCode::BadJson, format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(ProtocolError::new(
            ErrorCode::BadJson,
            "a message must be a JSON object",
        ));
    };
    let kind = object.get("type").and_then(|t| t.as_str()).ok_or_else(|| {
        ProtocolError::new(
            ErrorCode::UnknownType,
            "a message needs a string field \"type\"",
        )
    })?;
    if !CLIENT_TYPES.contains(&kind) {
        return Err(ProtocolError::new(
            ErrorCode::UnknownType,
            format!("unknown message type {kind:?}; expected one of {CLIENT_TYPES:?}"),
        ));
    }
    serde_json::from_value(value.clone()).map_err(|e| {
        ProtocolError::new(ErrorCode::BadMessage, format!("bad {kind:?} message: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_parses() {
        let msg = parse_client_message(
            r#"{"type":"join","version":1,"room":"r","token":"t","name":"Ada"}"#,
        );
        assert_eq!(
            msg,
            Ok(ClientMessage::Join {
                version: 1,
                room: "r".into(),
                token: "t".into(),
                name: "Ada".into(),
                sources: BTreeMap::new(),
            })
        );
    }

    #[test]
    fn sources_are_optional_and_named_by_mid() {
        let msg = parse_client_message(
            r#"{"type":"offer","sdp":"v=0","sources":{"0":"mic","2":"screen"}}"#,
        );
        let sources = BTreeMap::from([
            ("0".to_string(), TrackSource::Mic),
            ("2".to_string(), TrackSource::Screen),
        ]);
        assert_eq!(
            msg,
            Ok(ClientMessage::Offer {
                sdp: "v=0".into(),
                sources: Some(sources)
            })
        );
        let code = parse_client_message(r#"{"type":"offer","sdp":"v=0","sources":{"0":"tv"}}"#)
            .map_err(|e| e.code)
            .err();
        assert_eq!(code, Some(ErrorCode::BadMessage));
    }

    #[test]
    fn unit_messages_parse_with_or_without_extra_fields() {
        assert_eq!(
            parse_client_message(r#"{"type":"leave"}"#),
            Ok(ClientMessage::Leave)
        );
        assert_eq!(
            parse_client_message(r#"{"type":"ping","x":1}"#),
            Ok(ClientMessage::Ping)
        );
    }

    #[test]
    fn each_kind_of_bad_input_has_its_own_code() {
        let code = |text: &str| parse_client_message(text).map_err(|e| e.code).err();
        assert_eq!(code("{nope"), Some(ErrorCode::BadJson));
        assert_eq!(code("[1,2]"), Some(ErrorCode::BadJson));
        assert_eq!(code(r#"{"kind":"join"}"#), Some(ErrorCode::UnknownType));
        assert_eq!(code(r#"{"type":"dance"}"#), Some(ErrorCode::UnknownType));
        assert_eq!(code(r#"{"type":7}"#), Some(ErrorCode::UnknownType));
        assert_eq!(code(r#"{"type":"offer"}"#), Some(ErrorCode::BadMessage));
        assert_eq!(
            code(r#"{"type":"join","version":"1","room":"r","token":"t","name":"n"}"#),
            Some(ErrorCode::BadMessage)
        );
    }

    #[test]
    fn server_messages_are_tagged_snake_case() {
        let text = serde_json::to_string(&ServerMessage::TrackAdded {
            mid: "0".into(),
            participant: "p1".into(),
            kind: TrackKind::Video,
            source: TrackSource::Screen,
        })
        .expect("serializes");
        assert_eq!(
            text,
            r#"{"type":"track_added","mid":"0","participant":"p1","kind":"video","source":"screen"}"#
        );
        let text = serde_json::to_string(&ServerMessage::Pong).expect("serializes");
        assert_eq!(text, r#"{"type":"pong"}"#);
    }
}
