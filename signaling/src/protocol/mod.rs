//! The JSON wire protocol between the browser and the server (see `docs/PROTOCOL.md`).
//!
//! One tagged enum per direction: the `type` field names the variant. Parsing is done in two steps
//! so that a frame that is not JSON, a `type` we do not know and a known `type` with wrong fields
//! each get their own error code.

mod check;
mod class;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use check::{CheckOutcome, CheckTransport};
pub use class::{
    ChatEntry, ClassSnapshot, GuestPolicy, IceServer, IceServers, LobbyEntry, MediaResume, Rights,
    RightsPatch, Settings, SettingsPatch, Source,
};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every `type` a client may send, for telling "unknown type" from "bad fields".
const CLIENT_TYPES: [&str; 32] = [
    "join",
    "resume",
    "offer",
    "answer",
    "media_state",
    "leave",
    "ping",
    "raise_hand",
    "lower_hand",
    "lower_all_hands",
    "chat",
    "mute",
    "mute_all",
    "camera_off",
    "stop_screen",
    "kick",
    "lock",
    "set_guest_policy",
    "admit",
    "deny",
    "promote",
    "demote",
    "give_floor",
    "take_floor",
    "set_chat",
    "set_settings",
    "set_rights",
    "end_class",
    "video_quality",
    "ice_servers",
    "check",
    "check_offer",
];

/// A message from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Join {
        version: u32,
        room: String,
        token: String,
        name: String,
        /// A random id the browser keeps, so a barred pupil on a shared link stays out (best
        /// effort: clearing the browser's storage gets a new one).
        #[serde(default)]
        device: Option<String>,
    },
    /// Instead of `join`: come back after the socket dropped, within the grace period.
    Resume {
        version: u32,
        room: String,
        token: String,
        /// The last chat `seq` the client saw; later messages are replayed.
        #[serde(default)]
        last_chat_seq: u64,
        /// The client lost its media connection too (a reloaded page): free the old media
        /// session so that its next offer starts a new one.
        #[serde(default)]
        restart_media: bool,
    },
    Offer {
        sdp: String,
        /// What each of the offer's m-lines (by mid) carries; undeclared audio is the mic,
        /// undeclared video the camera.
        #[serde(default)]
        sources: BTreeMap<String, Source>,
    },
    Answer {
        sdp: String,
    },
    MediaState {
        audio: bool,
        video: bool,
        #[serde(default)]
        screen: bool,
    },
    Leave,
    Ping,
    RaiseHand,
    LowerHand {
        /// Whose hand; yourself when absent. Someone else's is a teacher's action.
        #[serde(default)]
        participant: Option<String>,
    },
    LowerAllHands,
    Chat {
        text: String,
    },
    Mute {
        participant: String,
    },
    MuteAll,
    CameraOff {
        participant: String,
    },
    StopScreen {
        participant: String,
    },
    Kick {
        participant: String,
        /// Also keep them out for the rest of the class.
        #[serde(default)]
        bar: bool,
    },
    Lock {
        locked: bool,
    },
    SetGuestPolicy {
        policy: GuestPolicy,
    },
    Admit {
        participant: String,
    },
    Deny {
        participant: String,
    },
    Promote {
        participant: String,
    },
    Demote {
        participant: String,
    },
    GiveFloor {
        participant: String,
    },
    TakeFloor {
        participant: String,
    },
    SetChat {
        enabled: bool,
    },
    SetSettings {
        #[serde(flatten)]
        settings: SettingsPatch,
    },
    SetRights {
        participant: String,
        #[serde(flatten)]
        rights: RightsPatch,
    },
    EndClass,
    /// The quality the sender needs of another participant's video, from the size it shows it
    /// at: the server forwards the best simulcast layer of that camera not above it.
    VideoQuality {
        participant: String,
        quality: VideoQuality,
    },
    /// Fresh relay credentials before the ones from `welcome` expire (members only).
    IceServers,
    /// Network self-test: asks for a probe of `transport` (no class needed; bounded, see
    /// `crate::check`).
    Check {
        transport: CheckTransport,
    },
    /// The receive-only offer of a probe `check_ready` granted.
    CheckOffer {
        probe: u32,
        sdp: String,
    },
}

/// Why the server paused a video for one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The viewer's downlink cannot take even the video's lowest layer.
    Bandwidth,
    /// The viewer receives its `last_n` most important videos, and this is not one of them.
    LastN,
}

/// A quality of a simulcast video, as the viewer asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoQuality {
    Low,
    Medium,
    High,
}

/// A participant as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub audio: bool,
    pub video: bool,
    #[serde(default)]
    pub screen: bool,
    #[serde(default)]
    pub rights: Rights,
    /// The socket dropped and the server waits for it to come back (grace period).
    #[serde(default)]
    pub reconnecting: bool,
}

/// What a participant may do in the class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Moderates the class (the teacher link, or a pupil promoted to co-teacher).
    Teacher,
    Pupil,
    /// Receives only: never publishes, never chats.
    Observer,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    Audio,
    Video,
}

/// Why the server ends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    Left,
    MediaFailed,
    ShuttingDown,
    /// A teacher removed the participant.
    Kicked,
    /// A teacher ended the class for everyone.
    ClassEnded,
    /// A teacher did not let the participant in from the lobby.
    Denied,
    /// The same participant resumed on another connection.
    Replaced,
}

/// A message to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome(ClassSnapshot),
    /// Answer to `resume`: the class as it is now; `media` says what to do about media.
    Resumed {
        #[serde(flatten)]
        class: ClassSnapshot,
        media: MediaResume,
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
        source: Source,
    },
    TrackRemoved {
        mid: String,
    },
    /// The participant speaking now, from the audio levels its microphone sends (at most every
    /// 500 ms, only on a change).
    ActiveSpeaker {
        participant: String,
    },
    /// You no longer receive `participant`'s video of `source`: the server paused it for you
    /// (`reason`), until `video_resumed`.
    VideoPaused {
        participant: String,
        source: Source,
        reason: PauseReason,
    },
    /// `participant`'s video of `source` comes to you again (from its next keyframe).
    VideoResumed {
        participant: String,
        source: Source,
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
    /// Your own rights changed (a teacher muted you, gave you the floor, …).
    Rights {
        rights: Rights,
    },
    Settings {
        settings: Settings,
    },
    Hands {
        queue: Vec<String>,
    },
    Chat(ChatEntry),
    /// You wait in the lobby for a teacher to let you in.
    LobbyWaiting,
    /// Who waits in the lobby now (to teachers).
    Lobby {
        waiting: Vec<LobbyEntry>,
    },
    /// Someone's connection dropped; they may come back within the grace period.
    Reconnecting {
        id: String,
    },
    /// They came back.
    Reconnected {
        id: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Bye {
        reason: ByeReason,
    },
    Pong,
    /// Answer to `ice_servers`: fresh relay credentials.
    IceServers(IceServers),
    /// A probe was granted: offer within `seconds`. `ice_servers` (TURN, short-lived
    /// credentials) only for a `relay` probe.
    CheckReady {
        probe: u32,
        transport: CheckTransport,
        seconds: u64,
        ice_servers: Vec<IceServer>,
    },
    /// The server's answer to a probe's offer.
    CheckAnswer {
        probe: u32,
        sdp: String,
    },
    /// How a probe ended; the server has freed it.
    CheckResult {
        probe: u32,
        transport: CheckTransport,
        outcome: CheckOutcome,
    },
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
    /// Too many messages; this one was dropped (the session closes with 4008 if it goes on).
    RateLimited,
    ServerError,
    /// The action is a teacher's, or its target is a teacher.
    Forbidden,
    /// No participant (or lobby guest) with that id.
    NoSuchParticipant,
    /// A pupil chatted while the teacher has chat off.
    ChatDisabled,
    /// The sender lacks the right the action needs (e.g. chat taken away individually).
    NotAllowed,
    /// The action does not apply to that participant (e.g. promoting an observer).
    BadTarget,
    /// The class is locked: only teachers get in.
    RoomLocked,
    /// A teacher removed this participant for the rest of the class.
    Barred,
    /// The guest policy keeps pupils out.
    Denied,
    /// Too many people already wait in the lobby.
    LobbyFull,
    /// The resume token is unknown, revoked, or its grace period is over: join again.
    BadResumeToken,
    /// A chat message that is empty, too long, or has control characters.
    BadChat,
    /// An SDP offer or answer over `limits.max_sdp_bytes`; refused, the media session goes on.
    SdpTooLarge,
    /// An SDP that sends more tracks of a source than the limits allow (or has too many m-lines).
    TooManyTracks,
    /// Too many offers (`limits.offers_per_minute`); this one was dropped.
    OfferRateLimited,
    /// A network self-test probe over its bounds (per address, per node, per connection).
    TooManyChecks,
    /// A `check_offer` for a probe this connection does not hold (unknown, ended, or offered).
    NoSuchCheck,
}

impl ErrorCode {
    /// The WebSocket close code to end the session with, when continuing makes no sense.
    pub fn close_code(self) -> Option<u16> {
        match self {
            ErrorCode::UnsupportedVersion => Some(4000),
            ErrorCode::BadToken | ErrorCode::TokenExpired => Some(4001),
            ErrorCode::RoomFull
            | ErrorCode::RoomLocked
            | ErrorCode::Barred
            | ErrorCode::Denied
            | ErrorCode::LobbyFull => Some(4003),
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
                device: None,
            })
        );
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
    fn class_messages_parse_and_bad_fields_are_told_apart() {
        assert_eq!(
            parse_client_message(r#"{"type":"kick","participant":"p3","bar":true}"#),
            Ok(ClientMessage::Kick {
                participant: "p3".into(),
                bar: true
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"set_settings","chat":false}"#),
            Ok(ClientMessage::SetSettings {
                settings: SettingsPatch {
                    chat: Some(false),
                    ..SettingsPatch::default()
                }
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"offer","sdp":"x","sources":{"2":"screen"}}"#),
            Ok(ClientMessage::Offer {
                sdp: "x".into(),
                sources: [("2".to_owned(), Source::Screen)].into_iter().collect()
            })
        );
        let code = |text: &str| parse_client_message(text).map_err(|e| e.code).err();
        assert_eq!(code(r#"{"type":"mute"}"#), Some(ErrorCode::BadMessage));
        assert_eq!(
            code(r#"{"type":"set_guest_policy","policy":"maybe"}"#),
            Some(ErrorCode::BadMessage)
        );
        assert_eq!(
            code(r#"{"type":"offer","sdp":"x","sources":{"0":"radio"}}"#),
            Some(ErrorCode::BadMessage)
        );
    }

    #[test]
    fn a_welcome_carries_the_class() {
        let snapshot = ClassSnapshot {
            version: 1,
            room: "r".into(),
            you: ParticipantInfo {
                id: "p1".into(),
                name: "T".into(),
                role: Role::Teacher,
                audio: true,
                video: true,
                screen: false,
                rights: Rights::default(),
                reconnecting: false,
            },
            participants: vec![],
            settings: Settings::default(),
            hands: vec![],
            chat: vec![],
            resume_token: "tok".into(),
            lobby: None,
            invite: None,
            ice: IceServers::default(),
        };
        let value = serde_json::to_value(ServerMessage::Welcome(snapshot.clone())).expect("json");
        assert_eq!(value["type"], "welcome");
        assert_eq!(value["resume_token"], "tok");
        assert!(value.get("lobby").is_none());
        let value = serde_json::to_value(ServerMessage::Resumed {
            class: snapshot,
            media: MediaResume::Kept,
        })
        .expect("json");
        assert_eq!(value["type"], "resumed");
        assert_eq!(value["media"], "kept");
        assert_eq!(value["you"]["id"], "p1");
        assert_eq!(
            value["ice_servers"],
            serde_json::json!([]),
            "no relay: empty"
        );
        assert!(value.get("ice_servers_valid_secs").is_none());
    }

    #[test]
    fn relay_credentials_have_the_shape_of_rtc_ice_server() {
        let relays = IceServers {
            ice_servers: vec![IceServer {
                urls: vec!["turn:turn.example.org:3478".into()],
                username: "1767225600:p42".into(),
                credential: "koYoSZnyOBSMEDTYu0npZhLRAQ4=".into(),
            }],
            ice_servers_valid_secs: Some(3600),
        };
        let text = serde_json::to_string(&ServerMessage::IceServers(relays)).expect("json");
        assert_eq!(
            text,
            r#"{"type":"ice_servers","ice_servers":[{"urls":["turn:turn.example.org:3478"],"username":"1767225600:p42","credential":"koYoSZnyOBSMEDTYu0npZhLRAQ4="}],"ice_servers_valid_secs":3600}"#
        );
        assert_eq!(
            parse_client_message(r#"{"type":"ice_servers"}"#),
            Ok(ClientMessage::IceServers)
        );
    }

    #[test]
    fn server_messages_are_tagged_snake_case() {
        let text = serde_json::to_string(&ServerMessage::TrackAdded {
            mid: "0".into(),
            participant: "p1".into(),
            kind: TrackKind::Video,
            source: Source::Screen,
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
