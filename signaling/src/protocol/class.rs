//! The wire types of classroom control: rights, settings, chat entries, the lobby, and the class
//! snapshot a participant gets on entering or resuming.

use serde::{Deserialize, Serialize};

use super::{ParticipantInfo, Role};

/// What a participant may publish and say right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    pub mic: bool,
    pub camera: bool,
    pub screen: bool,
    pub chat: bool,
}

/// A teacher's change to one participant's rights; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RightsPatch {
    #[serde(default)]
    pub mic: Option<bool>,
    #[serde(default)]
    pub camera: Option<bool>,
    #[serde(default)]
    pub screen: Option<bool>,
    #[serde(default)]
    pub chat: Option<bool>,
}

/// What a published track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Mic,
    Camera,
    Screen,
}

/// Who gets in with a pupil or observer link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestPolicy {
    #[default]
    AlwaysAccept,
    /// They wait in the lobby until a teacher admits or denies them.
    AskTeacher,
    AlwaysDeny,
}

/// The class's settings (like BBB's lock settings): defaults for pupils, and the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Pupils may use their mic when they join.
    pub pupil_mic: bool,
    /// Pupils may use their camera when they join.
    pub pupil_camera: bool,
    /// Pupils may share their screen.
    pub pupil_screen: bool,
    /// Pupils may chat (teachers always may).
    pub chat: bool,
    /// Nobody new gets in but teachers.
    pub locked: bool,
    pub guest_policy: GuestPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pupil_mic: true,
            pupil_camera: true,
            pupil_screen: false,
            chat: true,
            locked: false,
            guest_policy: GuestPolicy::AlwaysAccept,
        }
    }
}

/// A teacher's change to the settings; absent fields stay as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct SettingsPatch {
    #[serde(default)]
    pub pupil_mic: Option<bool>,
    #[serde(default)]
    pub pupil_camera: Option<bool>,
    #[serde(default)]
    pub pupil_screen: Option<bool>,
    #[serde(default)]
    pub chat: Option<bool>,
    #[serde(default)]
    pub locked: Option<bool>,
    #[serde(default)]
    pub guest_policy: Option<GuestPolicy>,
}

/// One chat message, numbered by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEntry {
    pub seq: u64,
    pub from: String,
    pub name: String,
    pub text: String,
}

/// Someone waiting in the lobby, as teachers see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyEntry {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// What a resumed client does about media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaResume {
    /// The server still holds the media session: carry on, or re-offer with an ICE restart.
    Kept,
    /// The media session is gone: start a new one with a fresh offer.
    Restart,
}

/// The state of the class a participant gets on entering (`welcome`) or coming back (`resumed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSnapshot {
    pub version: u32,
    pub room: String,
    pub you: ParticipantInfo,
    pub participants: Vec<ParticipantInfo>,
    pub settings: Settings,
    /// Raised hands, first raised first.
    pub hands: Vec<String>,
    /// Chat history (`welcome`), or what was missed (`resumed`).
    pub chat: Vec<ChatEntry>,
    /// Send it in `resume` to come back after a dropped connection.
    pub resume_token: String,
    /// Who waits in the lobby (teachers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lobby: Option<Vec<LobbyEntry>>,
    /// The pupil link's token, so a teacher can invite pupils (teachers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
    /// Relays for the media connection, with this participant's credentials (filled in when
    /// the message is delivered: see `rooms.rs`).
    #[serde(flatten)]
    pub ice: IceServers,
}

/// A relay a browser may use, with a credential valid for a while: the shape of WebRTC's
/// `RTCIceServer`, so the client passes it to `RTCPeerConnection` as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    /// `<expiry as Unix time>:<participant id>`: no personal data.
    pub username: String,
    pub credential: String,
}

/// The relays for a participant's media connection, in `welcome`, `resumed` and `ice_servers`.
/// Empty when the server has no `[turn]`: browsers then reach the media ports directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// Seconds the credentials stay valid from when they were sent: ask for new ones
    /// (`ice_servers`) before then. Absent when there is no relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice_servers_valid_secs: Option<u64>,
}
