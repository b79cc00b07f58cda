//! Each way a join token can be wrong is refused with its own clear error.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::*;

// Test issuers shared with the integration tests (keys generated in the test).
#[path = "../../tests/common/jwt.rs"]
mod mint;

use mint::{claims, Issuer, HS256_SECRET};

struct Fixture {
    verifier: JwtVerifier,
    ec: &'static Issuer,
    rsa: &'static Issuer,
    hs: Issuer,
}

fn fixture() -> Fixture {
    // RSA key generation takes a moment: one pair of keys for all the tests.
    static KEYS: std::sync::OnceLock<(Issuer, Issuer)> = std::sync::OnceLock::new();
    let (ec, rsa) = KEYS.get_or_init(|| (Issuer::es256("ec-1"), Issuer::rs256("rsa-1")));
    let verifier = JwtVerifier {
        hs256: Some(DecodingKey::from_secret(HS256_SECRET.as_bytes())),
        keys: KeySet::parse(&mint::jwks(&[ec, rsa])).expect("key set"),
        issuer: None,
        audience: None,
    };
    Fixture {
        verifier,
        ec,
        rsa,
        hs: Issuer::hs256(HS256_SECRET.as_bytes()),
    }
}

fn refusal(f: &Fixture, token: &str) -> (ErrorCode, String) {
    let err = f
        .verifier
        .verify("room-1", token, SystemTime::now())
        .expect_err("refused");
    (err.code, err.message)
}

#[test]
fn hs256_es256_and_rs256_tokens_give_their_grant() {
    let f = fixture();
    for issuer in [&f.hs, f.ec, f.rsa] {
        let mut c = claims("room-1", "observer", "Inspector Ada");
        c["sub"] = json!("lms:42");
        c["jti"] = json!("t-1");
        let grant = f
            .verifier
            .verify("room-1", &issuer.sign(&c), SystemTime::now())
            .unwrap_or_else(|e| panic!("{} accepted: {e:?}", issuer.alg()));
        assert_eq!(grant.role, Role::Observer);
        assert_eq!(grant.name.as_deref(), Some("Inspector Ada"));
        assert_eq!(grant.subject.as_deref(), Some("lms:42"));
        assert_eq!(grant.token_id.as_deref(), Some("t-1"));
    }
}

#[test]
fn a_token_for_another_room_is_refused() {
    let f = fixture();
    let (code, message) = refusal(&f, &f.hs.sign(&claims("room-2", "pupil", "P")));
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("another class"), "{message}");
}

#[test]
fn expiry_and_not_before_use_the_clock_passed_in() {
    let f = fixture();
    let token = f.ec.sign(&claims("room-1", "pupil", "P"));
    let later = SystemTime::now() + Duration::from_secs(600 + LEEWAY_SECS + 1);
    let err = f
        .verifier
        .verify("room-1", &token, later)
        .expect_err("expired");
    assert_eq!(err.code, ErrorCode::TokenExpired);
    let mut c = claims("room-1", "pupil", "P");
    c["nbf"] = json!(mint::now_secs() + 300);
    let (code, message) = refusal(&f, &f.ec.sign(&c));
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("not valid yet"), "{message}");
    let in_an_hour = SystemTime::now() + Duration::from_secs(360);
    assert!(f
        .verifier
        .verify("room-1", &f.ec.sign(&c), in_an_hour)
        .is_ok());
}

#[test]
fn an_unsigned_token_is_refused() {
    let f = fixture();
    let (code, message) = refusal(&f, &mint::unsigned(&claims("room-1", "teacher", "T")));
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("none"), "{message}");
}

#[test]
fn a_forged_or_altered_signature_is_refused() {
    let f = fixture();
    let forged = Issuer::hs256(b"another-secret-that-is-also-long-enough");
    let (code, message) = refusal(&f, &forged.sign(&claims("room-1", "teacher", "T")));
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("signature"), "{message}");
    // A pupil token whose payload was swapped for a teacher's: same signature, other claims.
    let pupil = f.rsa.sign(&claims("room-1", "pupil", "P"));
    let teacher = f.rsa.sign(&claims("room-1", "teacher", "P"));
    let parts: Vec<&str> = pupil.split('.').collect();
    let other: Vec<&str> = teacher.split('.').collect();
    let altered = format!("{}.{}.{}", parts[0], other[1], parts[2]);
    assert!(refusal(&f, &altered).1.contains("signature"));
}

#[test]
fn an_hs256_token_keyed_with_a_public_key_is_refused() {
    let f = fixture();
    for issuer in [f.rsa, f.ec] {
        let header = json!({"alg": "HS256", "kid": issuer.kid});
        let token = mint::hs256_with_key(
            &issuer.public_key_bytes(),
            &header,
            &claims("room-1", "teacher", "T"),
        );
        let (code, message) = refusal(&f, &token);
        assert_eq!(code, ErrorCode::BadToken);
        assert!(message.contains("signature"), "{message}");
    }
    // Without a shared secret configured, HS256 has no key at all.
    let no_secret = JwtVerifier {
        hs256: None,
        ..fixture().verifier
    };
    let header = json!({"alg": "HS256", "kid": f.rsa.kid});
    let token = mint::hs256_with_key(
        &f.rsa.public_key_bytes(),
        &header,
        &claims("room-1", "teacher", "T"),
    );
    let err = no_secret
        .verify("room-1", &token, SystemTime::now())
        .expect_err("refused");
    assert!(err.message.contains("HS256"), "{}", err.message);
}

#[test]
fn a_token_naming_a_key_of_another_algorithm_is_refused() {
    let f = fixture();
    let header = json!({"alg": "RS256", "kid": f.ec.kid});
    let token = f
        .rsa
        .sign_with_header(&header, &claims("room-1", "teacher", "T"));
    let (code, message) = refusal(&f, &token);
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("ES256"), "{message}");
}

#[test]
fn unknown_or_missing_kid_is_refused() {
    let f = fixture();
    let stranger = Issuer::es256("stranger");
    let (code, message) = refusal(&f, &stranger.sign(&claims("room-1", "pupil", "P")));
    assert_eq!(code, ErrorCode::BadToken);
    assert!(message.contains("unknown kid"), "{message}");
    let no_kid =
        f.ec.sign_with_header(&json!({"alg": "ES256"}), &claims("room-1", "pupil", "P"));
    assert!(refusal(&f, &no_kid).1.contains("kid"));
}

#[test]
fn other_algorithms_and_garbage_headers_are_refused() {
    let f = fixture();
    let hs512 =
        f.hs.sign_with_header(&json!({"alg": "HS512"}), &claims("room-1", "pupil", "P"));
    assert!(refusal(&f, &hs512).1.contains("algorithm"));
    assert_eq!(refusal(&f, "not.a.jwt").0, ErrorCode::BadToken);
    assert_eq!(refusal(&f, "e30.e30.").0, ErrorCode::BadToken);
}

#[test]
fn bad_claims_are_refused_with_what_is_wrong() {
    let f = fixture();
    let mut no_exp = claims("room-1", "pupil", "P");
    no_exp.as_object_mut().map(|o| o.remove("exp"));
    assert!(refusal(&f, &f.hs.sign(&no_exp)).1.contains("exp"));
    let admin = claims("room-1", "admin", "P");
    assert!(refusal(&f, &f.hs.sign(&admin)).1.contains("claims"));
    let bidi = claims("room-1", "pupil", "Ada\u{202E}rehcaeT");
    assert!(refusal(&f, &f.hs.sign(&bidi)).1.contains("name"));
    let mut long_sub = claims("room-1", "pupil", "P");
    long_sub["sub"] = json!("s".repeat(MAX_ID_CHARS + 1));
    assert!(refusal(&f, &f.hs.sign(&long_sub)).1.contains("sub"));
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let f = fixture();
    let strict = JwtVerifier {
        issuer: Some("https://portal.example".into()),
        audience: Some("classroom".into()),
        ..fixture().verifier
    };
    let mut c = claims("room-1", "pupil", "P");
    let check = |c: &serde_json::Value| strict.verify("room-1", &f.hs.sign(c), SystemTime::now());
    assert!(check(&c).expect_err("no iss").message.contains("iss"));
    c["iss"] = json!("https://portal.example");
    assert!(check(&c).expect_err("no aud").message.contains("aud"));
    c["aud"] = json!(["other", "classroom"]);
    assert!(check(&c).is_ok());
    c["aud"] = json!("other");
    assert!(check(&c).is_err());
}

#[test]
fn only_three_part_tokens_take_the_jwt_path() {
    assert!(looks_like_jwt("a.b.c"));
    assert!(!looks_like_jwt("k3J9xQ-capability_token"));
    assert!(!looks_like_jwt("a.b"));
}
