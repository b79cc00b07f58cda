//! The public keys of token issuers, from a JWK set file (RFC 7517), picked by `kid`.
//!
//! Only signature keys the server can use are accepted: EC P-256 (ES256) and RSA (RS256). A
//! symmetric (`oct`) key is refused: an HS256 secret belongs in `jwt_hs256_secret`, never in a file
//! of *public* keys, where an RSA key's bytes could pass for it (algorithm confusion).

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use super::AuthError;

/// One verification key and the only algorithm it may verify.
pub(super) struct IssuerKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// Keys by `kid`.
#[derive(Default)]
pub(super) struct KeySet {
    keys: HashMap<String, IssuerKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// Reads and checks a JWK set file; any key it cannot use is an error, so that a typo is found
    /// at start-up rather than when a class begins.
    pub fn from_file(path: &Path) -> Result<KeySet, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            what: "jwks_file",
            path: path.to_owned(),
            source,
        })?;
        KeySet::parse(&text).map_err(|why| AuthError::Jwks {
            path: path.to_owned(),
            why,
        })
    }

    /// Parses the text of a JWK set: `{"keys": [ ... ]}`.
    pub fn parse(text: &str) -> Result<KeySet, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let keys = value
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or("a JWK set is an object with a \"keys\" array")?;
        let mut set = KeySet::default();
        for (index, key) in keys.iter().enumerate() {
            let jwk: Jwk = serde_json::from_value(key.clone())
                .map_err(|e| format!("key {index} is not a JWK this server reads: {e}"))?;
            let kid = jwk
                .common
                .key_id
                .clone()
                .filter(|kid| !kid.is_empty())
                .ok_or_else(|| format!("key {index} has no \"kid\"; tokens pick keys by kid"))?;
            let issuer_key = issuer_key(&jwk).map_err(|why| format!("key {kid:?}: {why}"))?;
            if set.keys.insert(kid.clone(), issuer_key).is_some() {
                return Err(format!("two keys have kid {kid:?}"));
            }
        }
        Ok(set)
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&IssuerKey> {
        self.keys.get(kid)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn issuer_key(jwk: &Jwk) -> Result<IssuerKey, String> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return Err("\"use\" must be \"sig\" (or absent)".into());
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::EllipticCurve(_) => {
            return Err("only the P-256 curve (ES256) is supported".into())
        }
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric keys do not belong in a set of public keys; \
                        put an HS256 secret in jwt_hs256_secret"
                .into())
        }
        AlgorithmParameters::OctetKeyPair(_) => {
            return Err("OKP (EdDSA) keys are not supported; use ES256 or RS256".into())
        }
    };
    let declared = jwk.common.key_algorithm;
    let expected = match algorithm {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::RS256,
    };
    if declared.is_some_and(|alg| alg != expected) {
        return Err(format!(
            "\"alg\" is {declared:?} but the key is for {expected:?}; only ES256 and RS256 are supported"
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable key material: {e}"))?;
    Ok(IssuerKey { algorithm, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","kid":"ec1","alg":"ES256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    #[test]
    fn ec_and_rsa_keys_load_by_kid() {
        let rsa = r#"{"kty":"RSA","kid":"rsa1","use":"sig","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;
        let set = KeySet::parse(&format!(r#"{{"keys":[{EC_KEY},{rsa}]}}"#)).expect("loads");
        assert_eq!(set.get("ec1").map(|k| k.algorithm), Some(Algorithm::ES256));
        assert_eq!(set.get("rsa1").map(|k| k.algorithm), Some(Algorithm::RS256));
        assert!(set.get("other").is_none());
    }

    #[test]
    fn unusable_keys_are_refused_at_start_with_a_reason() {
        let err = |text: &str| KeySet::parse(text).err().unwrap_or_default();
        assert!(err("[]").contains("\"keys\""));
        assert!(err(r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#).contains("symmetric"));
        let no_kid = EC_KEY.replace(r#""kid":"ec1","#, "");
        assert!(err(&format!(r#"{{"keys":[{no_kid}]}}"#)).contains("kid"));
        let wrong_alg = EC_KEY.replace("\"ES256\"", "\"RS256\"");
        assert!(err(&format!(r#"{{"keys":[{wrong_alg}]}}"#)).contains("alg"));
        let twice = format!(r#"{{"keys":[{EC_KEY},{EC_KEY}]}}"#);
        assert!(err(&twice).contains("two keys"));
    }
}
