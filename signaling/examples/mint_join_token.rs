//! Mints an HS256 join token, as an LMS or a login portal would, to try a server's `[auth]`
//! setup by hand:
//!
//! ```sh
//! openssl rand -base64 48 > /tmp/hs256.secret      # the same file as the server's
//! classroom --jwt-hs256-secret-file /tmp/hs256.secret &
//! ROOM=$(curl -s -X POST http://127.0.0.1:8080/api/rooms | jq -r .room)
//! cargo run -p signaling --example mint_join_token -- \
//!     --secret-file /tmp/hs256.secret --room "$ROOM" --role pupil --name "Zoé" \
//!     --base-url http://127.0.0.1:8080
//! ```
//!
//! It prints the token, and the class link carrying it when `--base-url` is given. The claims are
//! described in `docs/PROTOCOL.md` ("Join tokens").

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(about = "Mint an HS256 join token for a classroom server (for testing an integration)")]
struct Args {
    /// File holding the shared secret (the server's jwt_hs256_secret_file).
    #[arg(long)]
    secret_file: PathBuf,
    /// The class id (`room` from `POST /api/rooms`).
    #[arg(long)]
    room: String,
    /// teacher, pupil or observer.
    #[arg(long, default_value = "pupil")]
    role: String,
    /// Display name shown in the class.
    #[arg(long)]
    name: Option<String>,
    /// Stable subject (the LMS user id): what a teacher's kick revokes.
    #[arg(long)]
    sub: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl_secs: u64,
    /// `iss` claim, when the server checks jwt_issuer.
    #[arg(long)]
    iss: Option<String>,
    /// `aud` claim, when the server checks jwt_audience.
    #[arg(long)]
    aud: Option<String>,
    /// Server base URL: also print the class link with the token.
    #[arg(long)]
    base_url: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let secret = std::fs::read_to_string(&args.secret_file)?;
    let secret = secret.trim_end_matches(['\r', '\n']);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = json!({
        "room": args.room,
        "role": args.role,
        "iat": now,
        "exp": now + args.ttl_secs,
        "jti": signaling::tokens::random_token(),
    });
    for (key, value) in [
        ("name", args.name),
        ("sub", args.sub),
        ("iss", args.iss),
        ("aud", args.aud),
    ] {
        if let Some(value) = value {
            claims[key] = json!(value);
        }
    }
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    println!("{token}");
    if let Some(base) = args.base_url {
        println!(
            "{}/class/{}?token={token}",
            base.trim_end_matches('/'),
            args.room
        );
    }
    Ok(())
}
