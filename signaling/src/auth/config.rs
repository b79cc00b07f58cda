//! The `[auth]` section of the configuration: how JWT join tokens are checked.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::AuthError;

/// Shortest HS256 secret accepted: 256 bits, the size of the HMAC-SHA256 key (RFC 7518 §3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// How signed join tokens are checked. With neither a secret nor a key set, only capability links
/// are accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Shared secret for HS256 tokens (at least 32 bytes).
    pub jwt_hs256_secret: Option<Secret>,
    /// File holding the HS256 secret (trailing newline ignored); instead of `jwt_hs256_secret`.
    pub jwt_hs256_secret_file: Option<PathBuf>,
    /// JWK set (JSON) with the public keys of ES256/RS256 issuers; a token names its key by `kid`.
    pub jwks_file: Option<PathBuf>,
    /// When set, a token's `iss` must be exactly this.
    pub jwt_issuer: Option<String>,
    /// When set, a token's `aud` must be (or contain) this.
    pub jwt_audience: Option<String>,
}

/// A secret string: never printed by `Debug`, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl AuthSection {
    /// Checks what can be checked without reading files.
    pub fn validate(&self) -> Result<(), String> {
        if self.jwt_hs256_secret.is_some() && self.jwt_hs256_secret_file.is_some() {
            return Err("auth: set jwt_hs256_secret or jwt_hs256_secret_file, not both".into());
        }
        if let Some(secret) = &self.jwt_hs256_secret {
            check_secret_len(&secret.0)?;
        }
        for (key, value) in [
            ("jwt_issuer", &self.jwt_issuer),
            ("jwt_audience", &self.jwt_audience),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("auth: {key} is empty; remove it or give a value"));
            }
        }
        Ok(())
    }

    /// The HS256 secret, read from its file when configured that way.
    pub fn hs256_secret(&self) -> Result<Option<Secret>, AuthError> {
        if let Some(secret) = &self.jwt_hs256_secret {
            return Ok(Some(secret.clone()));
        }
        let Some(path) = &self.jwt_hs256_secret_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            what: "jwt_hs256_secret_file",
            path: path.clone(),
            source,
        })?;
        let secret = text.trim_end_matches(['\r', '\n']).to_owned();
        check_secret_len(&secret).map_err(AuthError::Invalid)?;
        Ok(Some(Secret(secret)))
    }
}

fn check_secret_len(secret: &str) -> Result<(), String> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        // The length is safe to say; the secret is not.
        return Err(format!(
            "auth: the HS256 secret is {} bytes; it must be at least {MIN_HS256_SECRET_BYTES} \
             (e.g. `openssl rand -base64 48`)",
            secret.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_or_two_secrets_are_refused() {
        let short = AuthSection {
            jwt_hs256_secret: Some(Secret("too-short".into())),
            ..AuthSection::default()
        };
        let err = short.validate().expect_err("short");
        assert!(err.contains("at least 32"), "{err}");
        assert!(
            !err.contains("too-short"),
            "the secret is not echoed: {err}"
        );
        let both = AuthSection {
            jwt_hs256_secret: Some(Secret("x".repeat(32))),
            jwt_hs256_secret_file: Some("/s".into()),
            ..AuthSection::default()
        };
        assert!(both.validate().is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let section = AuthSection {
            jwt_hs256_secret: Some(Secret("a-very-secret-value-of-32-bytes!!".into())),
            ..AuthSection::default()
        };
        assert!(!format!("{section:?}").contains("very-secret"));
    }

    #[test]
    fn the_secret_file_is_read_without_its_newline() {
        let path = std::env::temp_dir().join(format!("classroom-secret-{}", std::process::id()));
        std::fs::write(&path, format!("{}\n", "k".repeat(40))).expect("write");
        let section = AuthSection {
            jwt_hs256_secret_file: Some(path.clone()),
            ..AuthSection::default()
        };
        let secret = section.hs256_secret().expect("read").expect("some");
        assert_eq!(secret.0.len(), 40);
        let _ = std::fs::remove_file(path);
    }
}
