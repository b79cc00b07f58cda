//! The network self-test (`/check`): from wherever a pupil or an IT person opens the page, which
//! transports reach this server's media — UDP, ICE-TCP, a TURN relay.
//!
//! Each transport is tried for real: the page asks for a *probe* (`check`), and the server opens
//! a short-lived receive-only media session for it on a shard, in a room of its own that no class
//! sees (`check_offer` → an ordinary [`sfu::Command::Join`], so the shard needs no change). The page
//! keeps only the server candidates of the transport it tests, and the server says `connected`
//! once ICE and DTLS are up over it, then frees the session at once.
//!
//! Probes need no class, so anyone who can load the page can ask for them: each costs a media
//! session (a str0m `Rtc`, a DTLS handshake), so they are bounded per network, per node and per
//! connection, and each lives at most `probe_secs` (see [`CheckSection`], `docs/SECURITY.md`).

mod budget;
mod config;
mod probes;

pub use budget::{ProbeBudget, ProbeRefusal};
pub use config::CheckSection;
pub use probes::{Checks, ProbeEvent};
