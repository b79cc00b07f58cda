//! Test issuers of join tokens: keys are generated in the test (nothing read from disk or the
//! network) and tokens are signed by hand with aws-lc-rs, so the server's JWT library is checked
//! against an independent signer. Also included by the unit tests of `signaling/src/auth/jwt.rs`.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// A shared secret long enough for the server's check.
pub const HS256_SECRET: &str = "test-only-hs256-secret-of-more-than-32-bytes";

/// Who signs: the key and the `kid` it is published under.
pub struct Issuer {
    key: Key,
    pub kid: String,
}

enum Key {
    Hs256(Vec<u8>),
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Issuer {
    pub fn hs256(secret: &[u8]) -> Issuer {
        Issuer {
            key: Key::Hs256(secret.to_vec()),
            kid: "hs".into(),
        }
    }

    pub fn es256(kid: &str) -> Issuer {
        let pair =
            EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
        Issuer {
            key: Key::Es256(pair),
            kid: kid.into(),
        }
    }

    pub fn rs256(kid: &str) -> Issuer {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key");
        Issuer {
            key: Key::Rs256(pair),
            kid: kid.into(),
        }
    }

    pub fn alg(&self) -> &'static str {
        match self.key {
            Key::Hs256(_) => "HS256",
            Key::Es256(_) => "ES256",
            Key::Rs256(_) => "RS256",
        }
    }

    /// The public key as a JWK (with `kid` and `alg`).
    pub fn jwk(&self) -> Value {
        match &self.key {
            Key::Hs256(_) => panic!("an HS256 secret has no public JWK"),
            Key::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
                       "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
            Key::Rs256(pair) => {
                let parts = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                       "n": b64(&parts.n), "e": b64(&parts.e)})
            }
        }
    }

    /// The DER of the public key: what an attacker would use as an HMAC secret.
    pub fn public_key_bytes(&self) -> Vec<u8> {
        match &self.key {
            Key::Hs256(secret) => secret.clone(),
            Key::Es256(pair) => pair.public_key().as_ref().to_vec(),
            Key::Rs256(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// A token with the usual header `{alg, typ, kid}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// A token with any header, signed with this issuer's key and algorithm.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.key {
            Key::Hs256(secret) => hmac(secret, message.as_bytes()),
            Key::Es256(pair) => pair
                .sign(&rng, message.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Key::Rs256(pair) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    message.as_bytes(),
                    &mut out,
                )
                .expect("sign");
                out
            }
        };
        format!("{message}.{}", b64(&signature))
    }
}

/// HMAC-SHA256, for HS256 tokens (including forged ones keyed with public-key bytes).
pub fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
}

/// An HS256 token keyed with arbitrary bytes, under any header.
pub fn hs256_with_key(key: &[u8], header: &Value, claims: &Value) -> String {
    Issuer::hs256(key).sign_with_header(header, claims)
}

/// An unsigned token (`alg: none`, empty signature).
pub fn unsigned(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT"});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A JWK set holding the public keys of `issuers`.
pub fn jwks(issuers: &[&Issuer]) -> String {
    json!({"keys": issuers.iter().map(|i| i.jwk()).collect::<Vec<_>>()}).to_string()
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Valid claims for `room`: the token expires in ten minutes.
pub fn claims(room: &str, role: &str, name: &str) -> Value {
    json!({"room": room, "role": role, "name": name, "exp": now_secs() + 600, "iat": now_secs()})
}
