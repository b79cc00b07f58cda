//! Credentials for the relays, minted per participant by the TURN REST scheme
//! (draft-uberti-behave-turn-rest; coturn's `use-auth-secret`): the username is
//! `<expiry as Unix time>:<participant id>`, the password base64(HMAC-SHA1(secret, username)).
//! The relay recomputes the HMAC with the same secret and refuses a username whose time has
//! passed, so nothing is stored anywhere and nothing has to be revoked.
//!
//! The participant id is a counter of this node (`p42`): it says nothing about who the person is,
//! and it is all a relay's logs learn from us.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sfu::ParticipantId;

use super::section::{check_secret_len, TurnSection};
use crate::config::ConfigError;
use crate::protocol::{IceServer, IceServers};

/// Signs credentials for the configured relays. Holds the secret as an HMAC key only: `Debug`
/// shows the URLs and the lifetime, never the key.
pub struct TurnCredentials {
    urls: Vec<String>,
    key: hmac::Key,
    lifetime: Duration,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("urls", &self.urls)
            .field("key", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl TurnCredentials {
    /// The signer for a validated `[turn]` section, its secret read from `secret_file` when it
    /// is not in the environment. Refuses a missing, unreadable or short secret.
    pub fn from_section(section: &TurnSection) -> Result<TurnCredentials, ConfigError> {
        let secret = match (&section.secret, &section.secret_file) {
            (Some(secret), _) => secret.0.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let secret = text.trim_end_matches(['\r', '\n']).to_owned();
                check_secret_len(&secret, &path.display().to_string())
                    .map_err(ConfigError::Invalid)?;
                secret
            }
            (None, None) => {
                return Err(ConfigError::Invalid(
                    "turn: no shared secret (secret_file or CLASSROOM_TURN_SECRET)".into(),
                ))
            }
        };
        Ok(TurnCredentials {
            urls: section.urls.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes()),
            lifetime: Duration::from_secs(section.credential_lifetime_secs),
        })
    }

    /// Credentials for `participant`, valid from `now` for the configured lifetime.
    pub fn mint(&self, participant: ParticipantId, now: SystemTime) -> IceServers {
        self.mint_as(&participant.to_string(), now, self.lifetime)
    }

    /// Credentials under `label` (a participant id, or `check` for a network self-test probe:
    /// never anything personal), valid from `now` for `lifetime`.
    pub fn mint_as(&self, label: &str, now: SystemTime, lifetime: Duration) -> IceServers {
        let unix_now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let expiry = (unix_now + lifetime).as_secs();
        let username = format!("{expiry}:{label}");
        let credential = password(&self.key, &username);
        IceServers {
            ice_servers: vec![IceServer {
                urls: self.urls.clone(),
                username,
                credential,
            }],
            ice_servers_valid_secs: Some(lifetime.as_secs()),
        }
    }
}

/// base64(HMAC-SHA1(secret, username)), as coturn computes it for `use-auth-secret`.
fn password(key: &hmac::Key, username: &str) -> String {
    STANDARD.encode(hmac::sign(key, username.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;

    fn signer(secret: &str, lifetime_secs: u64) -> TurnCredentials {
        TurnCredentials::from_section(&TurnSection {
            urls: vec![
                "turn:turn.example.org:3478".into(),
                "turns:turn.example.org:443?transport=tcp".into(),
            ],
            secret: Some(Secret(secret.into())),
            credential_lifetime_secs: lifetime_secs,
            secret_file: None,
        })
        .expect("a valid section")
    }

    /// Vectors computed apart from this code, with Python's standard library:
    /// `base64.b64encode(hmac.new(secret, username, hashlib.sha1).digest())`.
    #[test]
    fn minting_matches_an_independent_hmac_sha1() {
        let turn = signer("0123456789abcdef0123456789abcdef-classroom", 3600);
        let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600 - 3600);
        let minted = turn.mint(ParticipantId(42), now);
        assert_eq!(minted.ice_servers_valid_secs, Some(3600));
        let [server] = minted.ice_servers.as_slice() else {
            panic!("one server entry: {minted:?}");
        };
        assert_eq!(server.username, "1767225600:p42");
        assert_eq!(server.credential, "koYoSZnyOBSMEDTYu0npZhLRAQ4=");
        assert_eq!(server.urls.len(), 2);

        let turn = signer(&"x".repeat(32), 600);
        let minted = turn.mint(ParticipantId(7), UNIX_EPOCH + Duration::from_secs(1200));
        assert_eq!(minted.ice_servers[0].username, "1800:p7");
        assert_eq!(
            minted.ice_servers[0].credential,
            "+X1gbn49tWLghhG1K+MP2Nc5NEU="
        );
    }

    #[test]
    fn the_secret_file_is_read_and_a_short_one_refused_without_showing_it() {
        let dir = std::env::temp_dir().join(format!("classroom-turn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("secret");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef-classroom\n").expect("write");
        let section = TurnSection {
            urls: vec!["turn:turn.example.org".into()],
            secret_file: Some(path.clone()),
            ..TurnSection::default()
        };
        let turn = TurnCredentials::from_section(&section).expect("read");
        let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600 - 3600);
        assert_eq!(
            turn.mint(ParticipantId(42), now).ice_servers[0].credential,
            "koYoSZnyOBSMEDTYu0npZhLRAQ4=",
            "the trailing newline is not part of the secret"
        );
        assert!(!format!("{turn:?}").contains("0123456789"), "redacted");

        std::fs::write(&path, "tiny-secret\n").expect("write");
        let err = TurnCredentials::from_section(&section)
            .expect_err("short")
            .to_string();
        assert!(err.contains("at least 32"), "{err}");
        assert!(!err.contains("tiny-secret"), "{err}");

        let missing = TurnSection {
            secret_file: Some(dir.join("absent")),
            ..section
        };
        let err = TurnCredentials::from_section(&missing)
            .expect_err("missing")
            .to_string();
        assert!(err.contains("absent"), "names the file: {err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
