//! TURN relays for pupils whose network lets no UDP through to the media ports: the `[turn]`
//! section of the configuration, and the short-lived credentials each participant is given for
//! them (the TURN REST scheme that coturn implements with `use-auth-secret`).
//!
//! The server never relays anything itself: it only tells browsers where the relays are and
//! signs a credential each participant can use there for a while.

mod credentials;
mod section;

pub use credentials::TurnCredentials;
pub use section::{
    TurnSection, DEFAULT_CREDENTIAL_LIFETIME_SECS, MAX_CREDENTIAL_LIFETIME_SECS,
    MIN_CREDENTIAL_LIFETIME_SECS, MIN_TURN_SECRET_BYTES,
};
