//! Who may join a class, and as what.
//!
//! A `join` carries one token. Two kinds are accepted, and both come out as one [`JoinGrant`]:
//! - a *capability link* token, made by `POST /api/rooms` (the room's teacher or pupil token);
//! - a signed *JWT join token* from a login portal or an LMS (HS256 with a shared secret, or
//!   ES256/RS256 with public keys from a JWK set file), bound to one class. See `docs/PROTOCOL.md`.
//!
//! A JWT has exactly two dots; a capability token has none, so the shape decides the path.

mod capability;
pub mod config;
mod jwks;
mod jwt;
pub mod receive_only;

use std::time::SystemTime;

pub use capability::CapabilityLinks;
pub use config::{AuthSection, Secret};
pub use jwt::MAX_TOKEN_BYTES;

use crate::names::validate_name;
use crate::protocol::{ErrorCode, ProtocolError, Role};
use jwt::JwtVerifier;

/// What a verified token lets its holder do. The only thing admission looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGrant {
    /// The role in the class.
    pub role: Role,
    /// The display name the token sets (a JWT's `name`); wins over the name the client typed.
    pub name: Option<String>,
    /// A stable subject (a JWT's `sub`): what a barring kick keeps out.
    pub subject: Option<String>,
    /// The token's own id (a JWT's `jti`).
    pub token_id: Option<String>,
}

impl JoinGrant {
    /// The name to show: the token's (already checked), else the one the client typed, checked.
    pub fn display_name(&self, typed: &str) -> Result<String, ProtocolError> {
        match &self.name {
            Some(name) => Ok(name.clone()),
            None => validate_name(typed).map_err(|why| ProtocolError::new(ErrorCode::BadName, why)),
        }
    }
}

/// Why the auth configuration cannot be used (read at start-up).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    // The cause is the error's source: `{e:#}` prints it once.
    #[error("cannot read {what} {path}")]
    Read {
        what: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("jwks_file {path}: {why}")]
    Jwks {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("invalid [auth] configuration: {0}")]
    Invalid(String),
}

/// Verifies join tokens. One per node. (Keeping a kicked person out is the class's business:
/// a kick with `bar` bars their token's subject there, whatever token they come back with.)
#[derive(Debug, Default)]
pub struct Auth {
    jwt: Option<JwtVerifier>,
}

impl Auth {
    /// Capability links only: no JWT is accepted.
    pub fn capability_links_only() -> Auth {
        Auth::default()
    }

    /// Reads the secret and the key set named by the configuration.
    pub fn from_config(section: &AuthSection) -> Result<Auth, AuthError> {
        Ok(Auth {
            jwt: JwtVerifier::from_config(section)?,
        })
    }

    /// True when signed join tokens are accepted.
    pub fn accepts_jwt(&self) -> bool {
        self.jwt.is_some()
    }

    /// Checks `token` for class `room`: a capability link (against `links`) or a JWT (signature,
    /// claims; `now` is the wall clock, as JWT times are Unix times).
    pub fn verify(
        &self,
        room: &str,
        token: &str,
        links: &CapabilityLinks<'_>,
        now: SystemTime,
    ) -> Result<JoinGrant, ProtocolError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(ProtocolError::new(
                ErrorCode::BadToken,
                format!(
                    "the token is {} bytes; a join token is at most {MAX_TOKEN_BYTES} bytes",
                    token.len()
                ),
            ));
        }
        if !jwt::looks_like_jwt(token) {
            return capability::verify(links, token);
        }
        let Some(verifier) = &self.jwt else {
            return Err(ProtocolError::new(
                ErrorCode::BadToken,
                "this server does not accept signed join tokens; use the class link instead",
            ));
        };
        verifier.verify(room, token, now)
    }
}
