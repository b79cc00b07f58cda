//! The `[turn]` section: where the relays are, how the shared secret is found, and how long a
//! credential lasts. The secret itself is never in the TOML file (which is often world-readable
//! and kept in version control): it comes from `secret_file` or the `CLASSROOM_TURN_SECRET`
//! environment variable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::auth::Secret;

/// Shortest shared secret accepted. Every participant holds a username and its HMAC, so anyone in
/// a class can try to guess the secret offline, as fast as their hardware computes HMAC-SHA1, and
/// with it mint credentials for the relay forever. 32 bytes of random text (e.g.
/// `openssl rand -base64 32`) puts that out of reach.
pub const MIN_TURN_SECRET_BYTES: usize = 32;
/// Default of [`TurnSection::credential_lifetime_secs`]: an hour. Clients fetch fresh credentials
/// before they expire (`ice_servers`), and a relay checks them only when an allocation is made,
/// so a lesson outlives them; a credential that leaks is worth little for long.
pub const DEFAULT_CREDENTIAL_LIFETIME_SECS: u64 = 3600;
/// Shortest credential lifetime: below it, clients would ask for new ones all the time and a
/// slow ICE gathering could outlast one.
pub const MIN_CREDENTIAL_LIFETIME_SECS: u64 = 60;
/// Longest credential lifetime: a day. Longer makes a leaked credential a free relay.
pub const MAX_CREDENTIAL_LIFETIME_SECS: u64 = 24 * 3600;
/// Most relay URLs given to browsers (each one is a candidate gathering per browser).
pub const MAX_TURN_URLS: usize = 8;

/// The `[turn]` section. Present: every participant gets credentials for these relays; absent:
/// `ice_servers` is empty and browsers reach the media ports directly (never a third party's STUN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnSection {
    /// Relay URLs as browsers take them (RFC 7065), e.g. `turn:turn.example.org:3478` and
    /// `turns:turn.example.org:443?transport=tcp`.
    pub urls: Vec<String>,
    /// File holding the shared secret (coturn's `static-auth-secret`); a trailing newline is
    /// ignored. Instead: the `CLASSROOM_TURN_SECRET` environment variable.
    pub secret_file: Option<PathBuf>,
    /// Seconds a credential is valid from when it is given.
    pub credential_lifetime_secs: u64,
    /// The secret from the environment (`CLASSROOM_TURN_SECRET`); never read from the file.
    #[serde(skip)]
    pub secret: Option<Secret>,
}

impl Default for TurnSection {
    fn default() -> Self {
        TurnSection {
            urls: Vec::new(),
            secret_file: None,
            credential_lifetime_secs: DEFAULT_CREDENTIAL_LIFETIME_SECS,
            secret: None,
        }
    }
}

impl TurnSection {
    /// Checks what can be checked without reading files: the URLs, the lifetime, and that the
    /// secret comes from exactly one place (and is long enough when it is already known).
    pub fn validate(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("turn: urls is empty; give the relay's URLs, e.g. \
                        [\"turn:turn.example.org:3478\"], or remove [turn]"
                .into());
        }
        if self.urls.len() > MAX_TURN_URLS {
            return Err(format!("turn: at most {MAX_TURN_URLS} urls"));
        }
        for url in &self.urls {
            check_turn_url(url)?;
        }
        let lifetime = self.credential_lifetime_secs;
        if !(MIN_CREDENTIAL_LIFETIME_SECS..=MAX_CREDENTIAL_LIFETIME_SECS).contains(&lifetime) {
            return Err(format!(
                "turn: credential_lifetime_secs is {lifetime}; it must be from \
                 {MIN_CREDENTIAL_LIFETIME_SECS} to {MAX_CREDENTIAL_LIFETIME_SECS}"
            ));
        }
        match (&self.secret, &self.secret_file) {
            (Some(_), Some(_)) => Err("turn: the shared secret is given twice (secret_file and \
                                       CLASSROOM_TURN_SECRET); keep one"
                .into()),
            (None, None) => Err(format!(
                "turn: no shared secret: set secret_file in [turn] or the CLASSROOM_TURN_SECRET \
                 environment variable to the relay's static-auth-secret (at least \
                 {MIN_TURN_SECRET_BYTES} bytes)"
            )),
            (Some(secret), None) => check_secret_len(&secret.0, "CLASSROOM_TURN_SECRET"),
            (None, Some(_)) => Ok(()),
        }
    }
}

/// Refuses a secret short enough to be guessed from one credential (see
/// [`MIN_TURN_SECRET_BYTES`]). Says where the secret came from and its length, never the secret.
pub(super) fn check_secret_len(secret: &str, from: &str) -> Result<(), String> {
    if secret.len() < MIN_TURN_SECRET_BYTES {
        return Err(format!(
            "turn: the shared secret in {from} is {} bytes; it must be at least \
             {MIN_TURN_SECRET_BYTES}, because every participant gets a credential signed with it \
             and could guess a short one offline (make one with `openssl rand -base64 32`)",
            secret.len()
        ));
    }
    Ok(())
}

/// Checks one relay URL: `turn:` or `turns:`, a host, an optional port, and optionally
/// `?transport=udp` or `?transport=tcp` (RFC 7065). A mistake here would only show as pupils
/// who cannot connect, so it is refused at start.
fn check_turn_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "turn: {url:?} is not a relay URL ({why}); write e.g. \"turn:turn.example.org:3478\" \
             or \"turns:turn.example.org:443?transport=tcp\""
        ))
    };
    let Some((scheme, rest)) = url.split_once(':') else {
        return bad("no scheme");
    };
    if scheme != "turn" && scheme != "turns" {
        return bad("the scheme must be turn or turns");
    }
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    if let Some(query) = query {
        if query != "transport=udp" && query != "transport=tcp" {
            return bad("the only parameter is transport=udp or transport=tcp");
        }
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        // An IPv6 address: `[2001:db8::1]:3478`.
        let Some((address, after)) = bracketed.split_once(']') else {
            return bad("an IPv6 address needs its closing ]");
        };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address inside [ ]");
        }
        match after.strip_prefix(':') {
            Some(port) => (address, Some(port)),
            None if after.is_empty() => (address, None),
            None => return bad("unexpected text after ]"),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !host_ok {
        return bad("no host, or a host with characters a host name cannot have");
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p != 0) {
            return bad("the port must be a number from 1 to 65535");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(urls: &[&str]) -> TurnSection {
        TurnSection {
            urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            secret: Some(Secret("s".repeat(MIN_TURN_SECRET_BYTES))),
            ..TurnSection::default()
        }
    }

    #[test]
    fn relay_urls_of_both_schemes_are_accepted() {
        let urls = [
            "turn:turn.example.org:3478",
            "turns:turn.example.org:443?transport=tcp",
            "turn:192.0.2.7?transport=udp",
            "turn:[2001:db8::7]:3478",
        ];
        section(&urls).validate().expect("valid urls");
    }

    #[test]
    fn a_bad_url_is_refused_with_what_is_wrong() {
        for (url, why) in [
            ("stun:stun.example.org:3478", "turn or turns"),
            ("https://turn.example.org", "turn or turns"),
            ("turn.example.org:3478", "turn or turns"),
            ("turn:", "no host"),
            ("turn:turn.example.org:0", "port"),
            ("turn:turn.example.org:99999", "port"),
            ("turn:turn.example.org?transport=sctp", "transport"),
            ("turn:user@turn.example.org", "host"),
            ("turn:[2001:db8::7:3478", "closing ]"),
        ] {
            let err = section(&[url]).validate().expect_err(url);
            assert!(err.contains(why), "{url}: {err}");
        }
    }

    #[test]
    fn a_missing_short_or_doubled_secret_is_refused_and_never_echoed() {
        let mut turn = section(&["turn:turn.example.org"]);
        turn.secret = None;
        let err = turn.validate().expect_err("no secret");
        assert!(err.contains("no shared secret"), "{err}");
        turn.secret = Some(Secret("short-secret".into()));
        let err = turn.validate().expect_err("short secret");
        assert!(err.contains("at least 32"), "{err}");
        assert!(
            !err.contains("short-secret"),
            "the secret is not echoed: {err}"
        );
        turn.secret = Some(Secret("x".repeat(40)));
        turn.secret_file = Some("/run/secrets/turn".into());
        let err = turn.validate().expect_err("two secrets");
        assert!(err.contains("twice"), "{err}");
        assert!(!format!("{turn:?}").contains("xxxx"), "redacted in Debug");
    }

    #[test]
    fn the_lifetime_and_the_url_count_have_bounds() {
        let mut turn = section(&["turn:turn.example.org"]);
        turn.credential_lifetime_secs = 10;
        assert!(turn
            .validate()
            .expect_err("too short")
            .contains("credential_lifetime_secs"));
        turn.credential_lifetime_secs = MAX_CREDENTIAL_LIFETIME_SECS + 1;
        assert!(turn.validate().is_err());
        let many: Vec<&str> = vec!["turn:turn.example.org"; MAX_TURN_URLS + 1];
        assert!(section(&many).validate().is_err());
        assert!(section(&[]).validate().expect_err("none").contains("urls"));
    }

    #[test]
    fn the_secret_cannot_be_written_in_the_file() {
        let err = toml::from_str::<TurnSection>("urls = [\"turn:t.example\"]\nsecret = \"x\"")
            .expect_err("no secret key in TOML");
        assert!(err.to_string().contains("secret"), "{err}");
    }
}
