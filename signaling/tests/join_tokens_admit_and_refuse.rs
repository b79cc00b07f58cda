//! Signed join tokens from a portal or an LMS, through the real server: HS256 with the shared
//! secret, ES256 and RS256 with keys from a JWK set file (generated here), each joining with the
//! role and name the token says; every bad token refused with its code and close 4001.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::jwt::{self, claims, Issuer, HS256_SECRET};
use common::{Class, Client};
use serde_json::json;
use signaling::auth::Secret;

struct Setup {
    server: signaling::Server,
    class: Class,
    hs: Issuer,
    ec: Issuer,
    rsa: Issuer,
}

async fn setup() -> Setup {
    let ec = Issuer::es256("portal-ec-2026");
    let rsa = Issuer::rs256("lms-rsa-1");
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "classroom-jwks-{}-{}.json",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, jwt::jwks(&[&ec, &rsa])).expect("write jwks");
    let mut config = common::test_config();
    config.auth.jwt_hs256_secret = Some(Secret(HS256_SECRET.into()));
    config.auth.jwks_file = Some(path.clone());
    let server = common::start(config).await;
    // The keys are read at start; the file is not needed after.
    let _ = std::fs::remove_file(path);
    let class = common::create_class(&server).await;
    Setup {
        server,
        class,
        hs: Issuer::hs256(HS256_SECRET.as_bytes()),
        ec,
        rsa,
    }
}

async fn refused(setup: &Setup, token: &str, code: &str) -> String {
    let mut client = Client::connect(&setup.server).await;
    let reply = client.try_join(&setup.class.room, token, "Typed").await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
    client.expect_close(4001).await;
    reply["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_hs256_token_joins_with_its_role_and_its_name() {
    let s = setup().await;
    let token = s.hs.sign(&claims(&s.class.room, "teacher", "Mme Dupont"));
    let mut client = Client::connect(&s.server).await;
    let welcome = client.join(&s.class, &token, "typed by the client").await;
    assert_eq!(welcome["you"]["role"], "teacher");
    assert_eq!(
        welcome["you"]["name"], "Mme Dupont",
        "the token's name wins"
    );
}

#[tokio::test]
async fn es256_and_rs256_tokens_from_the_jwk_set_join() {
    let s = setup().await;
    let mut observer = Client::connect(&s.server).await;
    let token = s.ec.sign(&claims(&s.class.room, "observer", "Inspector"));
    let welcome = observer.join(&s.class, &token, "x").await;
    assert_eq!(welcome["you"]["role"], "observer");
    assert_eq!(
        welcome["you"]["audio"], false,
        "an observer has no live mic"
    );

    let mut c = claims(&s.class.room, "pupil", "Zoé");
    c["sub"] = json!("lms:user:42");
    let mut pupil = Client::connect(&s.server).await;
    let welcome = pupil.join(&s.class, &s.rsa.sign(&c), "x").await;
    assert_eq!(welcome["you"]["role"], "pupil");
    assert_eq!(welcome["you"]["name"], "Zoé");
    let seen = observer.expect_type("participant_joined").await;
    assert_eq!(seen["participant"]["role"], "pupil");
}

#[tokio::test]
async fn a_token_without_a_name_uses_the_typed_one() {
    let s = setup().await;
    let mut c = claims(&s.class.room, "pupil", "unused");
    c.as_object_mut().map(|o| o.remove("name"));
    let mut client = Client::connect(&s.server).await;
    let reply = client.try_join(&s.class.room, &s.hs.sign(&c), "   ").await;
    assert_eq!(
        reply["code"], "bad_name",
        "the typed name is still checked: {reply}"
    );
    let welcome = client.join(&s.class, &s.hs.sign(&c), " Léa ").await;
    assert_eq!(welcome["you"]["name"], "Léa");
}

#[tokio::test]
async fn tokens_for_another_room_expired_forged_or_unsigned_are_refused() {
    let s = setup().await;
    let room = s.class.room.clone();
    let message = refused(
        &s,
        &s.hs.sign(&claims("another-room", "teacher", "T")),
        "bad_token",
    )
    .await;
    assert!(message.contains("another class"), "{message}");

    let mut expired = claims(&room, "pupil", "P");
    expired["exp"] = json!(jwt::now_secs() - 120);
    let message = refused(&s, &s.ec.sign(&expired), "token_expired").await;
    assert!(message.contains("expired"), "{message}");

    let forger = Issuer::hs256(b"not-the-server-secret-but-long-enough!!");
    let message = refused(
        &s,
        &forger.sign(&claims(&room, "teacher", "T")),
        "bad_token",
    )
    .await;
    assert!(message.contains("signature"), "{message}");

    let message = refused(
        &s,
        &jwt::unsigned(&claims(&room, "teacher", "T")),
        "bad_token",
    )
    .await;
    assert!(message.contains("none"), "{message}");

    // Algorithm confusion: HS256 keyed with the RSA public key the server publishes.
    let header = json!({"alg": "HS256", "kid": s.rsa.kid});
    let confused = jwt::hs256_with_key(
        &s.rsa.public_key_bytes(),
        &header,
        &claims(&room, "teacher", "T"),
    );
    refused(&s, &confused, "bad_token").await;

    let stranger = Issuer::es256("unknown-kid");
    let message = refused(
        &s,
        &stranger.sign(&claims(&room, "teacher", "T")),
        "bad_token",
    )
    .await;
    assert!(message.contains("kid"), "{message}");

    let oversized = format!("{}.{}.x", "a".repeat(5000), "b".repeat(5000));
    let message = refused(&s, &oversized, "bad_token").await;
    assert!(message.contains("at most"), "{message}");
}

#[tokio::test]
async fn a_kicked_and_barred_subject_stays_out_whatever_token_it_brings() {
    let s = setup().await;
    let (mut teacher, _, _) =
        Client::joined(&s.server, &s.class, &s.class.teacher_token, "T").await;
    let mut c = claims(&s.class.room, "pupil", "Kicked");
    c["sub"] = json!("lms:user:7");
    let token = s.hs.sign(&c);
    let mut pupil = Client::connect(&s.server).await;
    let welcome = pupil.join(&s.class, &token, "x").await;
    let pupil_id = welcome["you"]["id"].as_str().expect("id").to_owned();
    teacher
        .send(json!({"type": "kick", "participant": pupil_id, "bar": true}))
        .await;
    assert_eq!(pupil.expect_type("bye").await["reason"], "kicked");

    // The same token, and a fresh one from another issuer for the same person: both barred.
    for token in [token, s.ec.sign(&c)] {
        let mut again = Client::connect(&s.server).await;
        let reply = again.try_join(&s.class.room, &token, "x").await;
        assert_eq!(reply["code"], "barred", "{reply}");
        again.expect_close(4003).await;
    }
    // Another pupil is not.
    let mut other = claims(&s.class.room, "pupil", "Other");
    other["sub"] = json!("lms:user:8");
    Client::connect(&s.server)
        .await
        .join(&s.class, &s.hs.sign(&other), "x")
        .await;
}

#[tokio::test]
async fn capability_links_still_work_beside_tokens() {
    let s = setup().await;
    let mut client = Client::connect(&s.server).await;
    let welcome = client.join(&s.class, &s.class.pupil_token, "Pupil").await;
    assert_eq!(welcome["you"]["role"], "pupil");
}

/// An offer from str0m with an audio and a video m-line in `direction`.
fn offer(direction: str0m::media::Direction) -> String {
    use str0m::media::MediaKind;
    let mut rtc = str0m::Rtc::builder().build(std::time::Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, direction, None, None, None);
    change.add_media(MediaKind::Video, direction, None, None, None);
    change.apply().expect("offer").0.to_sdp_string()
}

#[tokio::test]
async fn an_observer_receives_but_cannot_publish() {
    use str0m::media::Direction;
    let s = setup().await;
    let token = s.ec.sign(&claims(&s.class.room, "observer", "Inspector"));
    let mut observer = Client::connect(&s.server).await;
    observer.join(&s.class, &token, "x").await;
    observer
        .send(json!({"type": "offer", "sdp": offer(Direction::SendOnly)}))
        .await;
    let error = observer.expect_error("bad_sdp").await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("observer")),
        "{error}"
    );
    observer
        .send(json!({"type": "offer", "sdp": offer(Direction::Inactive)}))
        .await;
    observer.expect_type("answer").await;
}
