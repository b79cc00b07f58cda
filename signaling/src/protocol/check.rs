//! The network self-test's messages (`check`, `check_offer`; `check_ready`, `check_answer`,
//! `check_result`): see `docs/PROTOCOL.md`, "Network self-test".

use serde::{Deserialize, Serialize};

/// The transport a probe tests. The page keeps only the server candidates of that transport
/// (`udp`, `tcp`), or forces its browser through the TURN relay (`relay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckTransport {
    Udp,
    Tcp,
    Relay,
}

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// ICE and DTLS came up: media reaches the server over that transport.
    Connected,
    /// Nothing connected within `seconds` of `check_ready`.
    TimedOut,
    /// The media session ended before connecting (ICE or DTLS failed at the server).
    Failed,
    /// This server offers no such transport (`relay` without a `[turn]` section).
    NotOffered,
}
