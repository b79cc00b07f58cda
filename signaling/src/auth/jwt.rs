//! Signed join tokens (JWT, RFC 7519) from a portal or an LMS.
//!
//! The server, not the token, decides which algorithm and key apply: HS256 only with the
//! configured secret, ES256/RS256 only with the JWK-set key the `kid` names and only for that key's
//! own algorithm. So `alg: none` and algorithm confusion (an HS256 token "signed" with an RSA public
//! key) have no path to success. Times are checked here with the clock passed in.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::jwks::KeySet;
use super::{AuthError, AuthSection, JoinGrant};
use crate::names::validate_name;
use crate::protocol::{ErrorCode, ProtocolError, Role};

/// Largest token accepted, in bytes: a join token is a few hundred bytes; more is not one.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Clock difference tolerated between the issuer and this server.
const LEEWAY_SECS: u64 = 30;

/// Longest `sub` or `jti` kept (a barring kick remembers them).
const MAX_ID_CHARS: usize = 256;

/// True when `token` has the shape of a JWS compact serialization (three parts).
pub(super) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Checks join tokens against the configured secret and keys.
pub(super) struct JwtVerifier {
    hs256: Option<DecodingKey>,
    keys: KeySet,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The claims of a join token. Unknown claims are ignored (LMSs add their own).
#[derive(Debug, Deserialize)]
struct Claims {
    room: String,
    role: Role,
    exp: u64,
    name: Option<String>,
    nbf: Option<u64>,
    iat: Option<u64>,
    sub: Option<String>,
    jti: Option<String>,
    iss: Option<String>,
    aud: Option<Audience>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The part of the header we read before choosing a key.
#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

fn bad(message: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ErrorCode::BadToken, message)
}

impl JwtVerifier {
    /// `None` when neither a secret nor a key set is configured.
    pub fn from_config(section: &AuthSection) -> Result<Option<JwtVerifier>, AuthError> {
        let hs256 = section
            .hs256_secret()?
            .map(|secret| DecodingKey::from_secret(secret.0.as_bytes()));
        let keys = match &section.jwks_file {
            Some(path) => KeySet::from_file(path)?,
            None => KeySet::default(),
        };
        if hs256.is_none() && keys.is_empty() {
            if section.jwks_file.is_some() {
                return Err(AuthError::Invalid("jwks_file holds no key".into()));
            }
            return Ok(None);
        }
        Ok(Some(JwtVerifier {
            hs256,
            keys,
            issuer: section.jwt_issuer.clone(),
            audience: section.jwt_audience.clone(),
        }))
    }

    /// Verifies the signature and the claims of `token` for class `room` at time `now`.
    pub fn verify(
        &self,
        room: &str,
        token: &str,
        now: SystemTime,
    ) -> Result<JoinGrant, ProtocolError> {
        let header = read_header(token)?;
        let (algorithm, key) = self.key_for(&header)?;
        let mut validation = Validation::new(algorithm);
        // Time, issuer and audience are checked below, with our clock and our messages.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => bad(
                    "the token's signature does not verify: it was not signed by a key this \
                     server trusts, or it was altered; ask the portal for a new link",
                ),
                ErrorKind::Json(e) => bad(format!("the token's claims are not valid: {e}")),
                _ => bad("the token is malformed; ask the portal for a new link"),
            })?
            .claims;
        self.check_claims(room, claims, now)
    }

    fn key_for(&self, header: &Header) -> Result<(Algorithm, &DecodingKey), ProtocolError> {
        match header.alg.as_str() {
            "HS256" => match &self.hs256 {
                Some(key) => Ok((Algorithm::HS256, key)),
                None => Err(bad(
                    "this server does not accept HS256 tokens (no shared secret is configured)",
                )),
            },
            "ES256" | "RS256" => {
                let kid = header.kid.as_deref().ok_or_else(|| {
                    bad("the token's header has no \"kid\" naming its signing key")
                })?;
                let issuer_key = self.keys.get(kid).ok_or_else(|| {
                    bad(
                        "the token is signed with a key this server does not know (unknown kid); \
                         the portal's key must be in the server's jwks_file",
                    )
                })?;
                let wanted = format!("{:?}", issuer_key.algorithm);
                if header.alg != wanted {
                    return Err(bad(format!(
                        "the token says {} but its key is for {wanted}",
                        header.alg
                    )));
                }
                Ok((issuer_key.algorithm, &issuer_key.key))
            }
            alg if alg.eq_ignore_ascii_case("none") => Err(bad(
                "unsigned tokens (alg \"none\") are refused; sign with HS256, ES256 or RS256",
            )),
            _ => Err(bad(
                "the token's algorithm is not accepted; use HS256, ES256 or RS256",
            )),
        }
    }

    fn check_claims(
        &self,
        room: &str,
        claims: Claims,
        now: SystemTime,
    ) -> Result<JoinGrant, ProtocolError> {
        if claims.room != room {
            return Err(bad(
                "this token is for another class; use the link for this one",
            ));
        }
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if claims.exp.saturating_add(LEEWAY_SECS) <= now_secs {
            return Err(ProtocolError::new(
                ErrorCode::TokenExpired,
                "this token has expired; open the class again from your school's portal",
            ));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now_secs + LEEWAY_SECS) {
            return Err(bad(
                "this token is not valid yet (nbf); check the clocks of the portal and the server",
            ));
        }
        if claims.iat.is_some_and(|iat| iat > now_secs + LEEWAY_SECS) {
            return Err(bad(
                "this token was issued in the future (iat); check the clocks",
            ));
        }
        if let Some(issuer) = &self.issuer {
            if claims.iss.as_deref() != Some(issuer.as_str()) {
                return Err(bad(
                    "this token comes from an issuer this server does not trust (iss)",
                ));
            }
        }
        if let Some(audience) = &self.audience {
            let ok = match &claims.aud {
                Some(Audience::One(aud)) => aud == audience,
                Some(Audience::Many(auds)) => auds.contains(audience),
                None => false,
            };
            if !ok {
                return Err(bad("this token is meant for another service (aud)"));
            }
        }
        let name = match &claims.name {
            Some(name) => Some(validate_name(name).map_err(|why| {
                bad(format!(
                    "the token's name is not a valid display name: {why}"
                ))
            })?),
            None => None,
        };
        for (claim, value) in [("sub", &claims.sub), ("jti", &claims.jti)] {
            if value
                .as_deref()
                .is_some_and(|v| v.is_empty() || v.chars().count() > MAX_ID_CHARS)
            {
                return Err(bad(format!(
                    "the token's {claim} must be 1 to {MAX_ID_CHARS} characters"
                )));
            }
        }
        Ok(JoinGrant {
            role: claims.role,
            name,
            subject: claims.sub,
            token_id: claims.jti,
        })
    }
}

fn read_header(token: &str) -> Result<Header, ProtocolError> {
    let encoded = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| bad("the token's header is not base64url; ask the portal for a new link"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| bad("the token's header is not a JWT header with an \"alg\""))
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
