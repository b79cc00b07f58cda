//! The server's configuration: one typed struct, read from a TOML file, then `CLASSROOM_*`
//! environment variables, then command-line flags (each later source wins).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthSection, Secret};
use crate::check::CheckSection;
use crate::limits::origin::validate_allowed_origin;
use crate::limits::LimitsSection;
use crate::tls::TlsSection;
use crate::turn::TurnSection;

/// Default of [`Config::empty_class_linger_secs`]: a quarter of an hour covers a school network
/// that went down for a few minutes and a break between two halves of a lesson.
pub const DEFAULT_EMPTY_CLASS_LINGER_SECS: u64 = 15 * 60;
/// Default of [`MediaSection::connect_timeout_secs`] (the media plane's own default).
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = sfu::core::DEFAULT_CONNECT_TIMEOUT.as_secs();

/// Everything the server can be told. Defaults run on a laptop with nothing else installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP/WebSocket server.
    pub http: SocketAddr,
    /// Base URL put in invitation links (e.g. `https://classe.example.org`). When unset, links use
    /// the `Host` the request came to.
    pub public_url: Option<String>,
    /// When set, `POST /api/rooms` requires `Authorization: Bearer <admin_key>`. When unset,
    /// classes can be created only on a server nobody else reaches: HTTP bound to loopback, no
    /// `public_url`, and no proxy header on the request (`server.rs` `refuse_creator`).
    pub admin_key: Option<String>,
    /// How long invitation links stay valid after the class is created.
    pub token_ttl_secs: u64,
    /// Most participants in one class.
    pub max_participants_per_room: usize,
    /// How long a participant whose connection dropped may come back (`resume`) before it
    /// counts as gone.
    pub resume_grace_secs: u64,
    /// How long a class that everyone has left is kept (its links keep working meanwhile) once a
    /// teacher has been in it; then its names, chat and place on the node are freed. A class no
    /// teacher has opened yet keeps its links for `token_ttl_secs`.
    pub empty_class_linger_secs: u64,
    /// Chat messages kept per class (for newcomers and for replay on resume). Memory only.
    pub chat_history: usize,
    /// Most people waiting in one class's lobby.
    pub max_lobby: usize,
    /// Web origins (besides the server's own) whose pages may open the WebSocket, e.g. an LMS
    /// that embeds the class: `["https://moodle.example.org"]`.
    pub allowed_origins: Vec<String>,
    /// The media plane.
    pub media: MediaSection,
    /// Signed join tokens (JWT) from a portal or an LMS.
    pub auth: AuthSection,
    /// Per-connection and per-node limits.
    pub limits: LimitsSection,
    /// HTTPS built in (certificate files, redirect from plain HTTP, HSTS).
    pub tls: TlsSection,
    /// Who may read `/metrics`, and where.
    pub metrics: MetricsSection,
    /// TURN relays for networks that block UDP (`None`: no relay, browsers connect directly).
    pub turn: Option<TurnSection>,
    /// The network self-test's probes (`/check`).
    pub check: CheckSection,
}

/// The `[metrics]` section. `/metrics` tells how many classes and people a node holds: harmless
/// on loopback, worth keeping from the open network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (Prometheus: `authorization`
    /// in the scrape config).
    pub token: Option<Secret>,
    /// A file holding the token (read at start; keeps it out of the config file and `ps`).
    pub token_file: Option<PathBuf>,
    /// When set, `/metrics` is served only on this address (e.g. `10.0.0.5:9100`, an internal
    /// network), not beside the class pages.
    pub bind: Option<SocketAddr>,
}

impl MetricsSection {
    /// Checks what can be checked without reading files.
    pub fn validate(&self) -> Result<(), String> {
        if self.token.is_some() && self.token_file.is_some() {
            return Err("metrics: set token or token_file, not both".into());
        }
        if self.token.as_ref().is_some_and(|t| t.0.len() < 16) {
            return Err("metrics: token must be at least 16 characters".into());
        }
        Ok(())
    }

    /// Reads `token_file` into `token`, so the server only looks at `token`.
    pub fn resolve_token(&mut self) -> Result<(), ConfigError> {
        let Some(path) = self.token_file.take() else {
            return Ok(());
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let token = text.trim();
        if token.len() < 16 {
            return Err(ConfigError::Invalid(format!(
                "metrics: the token in {} must be at least 16 characters",
                path.display()
            )));
        }
        self.token = Some(Secret(token.to_owned()));
        Ok(())
    }
}

/// How the media plane listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSection {
    /// Shard threads, each with a UDP socket. 0 means one per CPU core.
    pub shards: usize,
    /// Address the media sockets (UDP and ICE-TCP) bind to.
    pub bind_ip: IpAddr,
    /// Addresses given to browsers as ICE host candidates, one UDP and one TCP candidate each (a
    /// single address or a list). Empty (the default): every address of the machine's interfaces,
    /// then loopback, so a browser on the same machine or the LAN connects (Firefox gathers no
    /// loopback candidate, so 127.0.0.1 alone fails there).
    #[serde(deserialize_with = "one_or_many")]
    pub public_ip: Vec<IpAddr>,
    /// UDP port of shard 0; shard i listens on `udp_port_base + i`. 0 lets the OS pick.
    pub udp_port_base: u16,
    /// ICE-TCP port of shard 0; shard i listens on `tcp_port_base + i`. Unset: the same numbers
    /// as UDP (TCP and UDP ports are separate spaces), so one range is opened for both.
    pub tcp_port_base: Option<u16>,
    /// The bounds of each shard's ICE-TCP connections.
    pub tcp: TcpSection,
    /// Seconds a media session may take to connect (ICE, then DTLS) after its first offer
    /// before it is freed and its client told `bye` (`media_failed`).
    pub connect_timeout_secs: u64,
    /// Estimate each subscriber's downlink and share it among the videos it receives: layers
    /// follow the link and a video that does not fit is paused (`docs/MEDIA.md`). Off by
    /// default until it is proven with real browsers under impairment, and until the server's
    /// own CPU load no longer reads as congestion (`docs/MEDIA.md`, "Why it is off by default").
    pub downlink_estimation: bool,
}

/// The bounds of each shard's ICE-TCP connections (`[media.tcp]`); see `docs/SECURITY.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpSection {
    /// Most ICE-TCP connections open on one shard.
    pub max_connections: usize,
    /// Most ICE-TCP connections from one IP address on one shard (a school's NAT is one address).
    pub max_per_address: usize,
    /// Seconds a new connection may take to send a valid STUN request for a session.
    pub first_stun_secs: u64,
    /// Seconds a connection may stay silent (half-open) before it is closed.
    pub idle_secs: u64,
    /// KiB queued for one connection beyond the kernel's buffer; frames past it are dropped.
    pub outbound_kib: usize,
    /// Seconds a connection with queued bytes may take none before it is closed.
    pub write_stall_secs: u64,
}

impl Default for TcpSection {
    fn default() -> Self {
        let limits = sfu::TcpLimits::default();
        TcpSection {
            max_connections: limits.max_connections,
            max_per_address: limits.max_per_address,
            first_stun_secs: limits.first_stun_within.as_secs(),
            idle_secs: limits.idle_timeout.as_secs(),
            outbound_kib: limits.outbound_buffer / 1024,
            write_stall_secs: limits.write_stall.as_secs(),
        }
    }
}

impl TcpSection {
    /// The media plane's limits.
    pub fn limits(&self) -> sfu::TcpLimits {
        sfu::TcpLimits {
            max_connections: self.max_connections,
            max_per_address: self.max_per_address,
            first_stun_within: std::time::Duration::from_secs(self.first_stun_secs),
            idle_timeout: std::time::Duration::from_secs(self.idle_secs),
            outbound_buffer: self.outbound_kib * 1024,
            write_stall: std::time::Duration::from_secs(self.write_stall_secs),
        }
    }
}

/// `public_ip = "203.0.113.10"` (as before lists were allowed) or `public_ip = ["…", "…"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(IpAddr),
        Many(Vec<IpAddr>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(ip) => vec![ip],
        OneOrMany::Many(ips) => ips,
    })
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            public_url: None,
            admin_key: None,
            token_ttl_secs: 12 * 3600,
            max_participants_per_room: 100,
            resume_grace_secs: 30,
            empty_class_linger_secs: DEFAULT_EMPTY_CLASS_LINGER_SECS,
            chat_history: 500,
            max_lobby: 50,
            allowed_origins: Vec::new(),
            media: MediaSection::default(),
            auth: AuthSection::default(),
            limits: LimitsSection::default(),
            tls: TlsSection::default(),
            metrics: MetricsSection::default(),
            turn: None,
            check: CheckSection::default(),
        }
    }
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            shards: 0,
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            public_ip: Vec::new(),
            udp_port_base: 40000,
            tcp_port_base: None,
            tcp: TcpSection::default(),
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            downlink_estimation: false,
        }
    }
}

/// Command-line flags; each also reads a `CLASSROOM_*` environment variable.
#[derive(Debug, Default, Parser)]
#[command(
    name = "classroom",
    version,
    about = "Sovereign virtual-classroom media server"
)]
pub struct Flags {
    /// TOML configuration file.
    #[arg(long, env = "CLASSROOM_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP listen address, e.g. 127.0.0.1:8080.
    #[arg(long, env = "CLASSROOM_HTTP")]
    pub http: Option<SocketAddr>,
    /// Base URL for invitation links.
    #[arg(long, env = "CLASSROOM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Key required to create classes.
    #[arg(long, env = "CLASSROOM_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Invitation link lifetime in seconds.
    #[arg(long, env = "CLASSROOM_TOKEN_TTL_SECS")]
    pub token_ttl_secs: Option<u64>,
    /// Most participants in one class.
    #[arg(long, env = "CLASSROOM_MAX_PARTICIPANTS_PER_ROOM")]
    pub max_participants_per_room: Option<usize>,
    /// Seconds a dropped participant may take to resume.
    #[arg(long, env = "CLASSROOM_RESUME_GRACE_SECS")]
    pub resume_grace_secs: Option<u64>,
    /// Seconds a class everyone has left is kept (once a teacher has been in it).
    #[arg(long, env = "CLASSROOM_EMPTY_CLASS_LINGER_SECS")]
    pub empty_class_linger_secs: Option<u64>,
    /// Seconds a media session may take to connect before it is freed.
    #[arg(long, env = "CLASSROOM_MEDIA_CONNECT_TIMEOUT_SECS")]
    pub media_connect_timeout_secs: Option<u64>,
    /// Chat messages kept per class.
    #[arg(long, env = "CLASSROOM_CHAT_HISTORY")]
    pub chat_history: Option<usize>,
    /// Media shard threads (0: one per core).
    #[arg(long, env = "CLASSROOM_SHARDS")]
    pub shards: Option<usize>,
    /// Address the media sockets bind to.
    #[arg(long, env = "CLASSROOM_MEDIA_BIND_IP")]
    pub media_bind_ip: Option<IpAddr>,
    /// Addresses announced to browsers for media (comma-separated; default: the machine's).
    #[arg(long, env = "CLASSROOM_PUBLIC_IP", value_delimiter = ',')]
    pub public_ip: Option<Vec<IpAddr>>,
    /// UDP port of the first shard (0: let the OS pick).
    #[arg(long, env = "CLASSROOM_UDP_PORT_BASE")]
    pub udp_port_base: Option<u16>,
    /// ICE-TCP port of the first shard (default: the UDP port base; 0: let the OS pick).
    #[arg(long, env = "CLASSROOM_TCP_PORT_BASE")]
    pub tcp_port_base: Option<u16>,
    /// Other web origins allowed to open the WebSocket (comma-separated).
    #[arg(long, env = "CLASSROOM_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Option<Vec<String>>,
    /// Shared secret for HS256 join tokens (prefer the _file variant: flags show in `ps`).
    #[arg(long, env = "CLASSROOM_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,
    /// File holding the shared secret for HS256 join tokens.
    #[arg(long, env = "CLASSROOM_JWT_HS256_SECRET_FILE")]
    pub jwt_hs256_secret_file: Option<PathBuf>,
    /// JWK set file with the public keys for ES256/RS256 join tokens.
    #[arg(long, env = "CLASSROOM_JWKS_FILE")]
    pub jwks_file: Option<PathBuf>,
    /// Required `iss` of join tokens.
    #[arg(long, env = "CLASSROOM_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` of join tokens.
    #[arg(long, env = "CLASSROOM_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Messages per second one connection may send, sustained.
    #[arg(long, env = "CLASSROOM_MESSAGES_PER_SEC")]
    pub messages_per_sec: Option<u32>,
    /// Messages one connection may send in a burst.
    #[arg(long, env = "CLASSROOM_MESSAGE_BURST")]
    pub message_burst: Option<u32>,
    /// Largest message a client may send, in bytes.
    #[arg(long, env = "CLASSROOM_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// Most classes on this node.
    #[arg(long, env = "CLASSROOM_MAX_ROOMS")]
    pub max_rooms: Option<usize>,
    /// PEM certificate chain: with --tls-key-file, serves HTTPS (and WSS) itself.
    #[arg(long, env = "CLASSROOM_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate.
    #[arg(long, env = "CLASSROOM_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Plain-HTTP address that redirects to HTTPS, e.g. 0.0.0.0:80.
    #[arg(long, env = "CLASSROOM_TLS_REDIRECT_HTTP")]
    pub tls_redirect_http: Option<SocketAddr>,
    /// File holding the bearer token `/metrics` requires.
    #[arg(long, env = "CLASSROOM_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Serve `/metrics` only on this address.
    #[arg(long, env = "CLASSROOM_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// TURN relay URLs (comma-separated), e.g. turn:turn.example.org:3478; sets up `[turn]`.
    #[arg(long, env = "CLASSROOM_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Option<Vec<String>>,
    /// File holding the TURN shared secret (coturn's static-auth-secret).
    #[arg(long, env = "CLASSROOM_TURN_SECRET_FILE")]
    pub turn_secret_file: Option<PathBuf>,
    /// The TURN shared secret itself: meant for the environment variable (a flag shows in `ps`).
    #[arg(
        long,
        env = "CLASSROOM_TURN_SECRET",
        hide_env_values = true,
        hide = true
    )]
    pub turn_secret: Option<String>,
    /// Seconds a TURN credential stays valid.
    #[arg(long, env = "CLASSROOM_TURN_CREDENTIAL_LIFETIME_SECS")]
    pub turn_credential_lifetime_secs: Option<u64>,
}

/// A configuration that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads the file named by the flags (if any), then applies the flags and env variables.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        let mut config = match &flags.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(flags);
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file; fields it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    fn apply(&mut self, flags: &Flags) {
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *field = v.clone();
            }
        }
        set(&mut self.http, &flags.http);
        if flags.public_url.is_some() {
            self.public_url.clone_from(&flags.public_url);
        }
        if flags.admin_key.is_some() {
            self.admin_key.clone_from(&flags.admin_key);
        }
        set(&mut self.token_ttl_secs, &flags.token_ttl_secs);
        set(
            &mut self.max_participants_per_room,
            &flags.max_participants_per_room,
        );
        set(&mut self.resume_grace_secs, &flags.resume_grace_secs);
        set(
            &mut self.empty_class_linger_secs,
            &flags.empty_class_linger_secs,
        );
        set(
            &mut self.media.connect_timeout_secs,
            &flags.media_connect_timeout_secs,
        );
        set(&mut self.chat_history, &flags.chat_history);
        set(&mut self.media.shards, &flags.shards);
        set(&mut self.media.bind_ip, &flags.media_bind_ip);
        set(&mut self.media.public_ip, &flags.public_ip);
        set(&mut self.media.udp_port_base, &flags.udp_port_base);
        if flags.tcp_port_base.is_some() {
            self.media.tcp_port_base = flags.tcp_port_base;
        }
        set(&mut self.allowed_origins, &flags.allowed_origins);
        if let Some(secret) = &flags.jwt_hs256_secret {
            self.auth.jwt_hs256_secret = Some(Secret(secret.clone()));
        }
        let auth = &mut self.auth;
        for (field, flag) in [
            (
                &mut auth.jwt_hs256_secret_file,
                &flags.jwt_hs256_secret_file,
            ),
            (&mut auth.jwks_file, &flags.jwks_file),
        ] {
            if flag.is_some() {
                field.clone_from(flag);
            }
        }
        for (field, flag) in [
            (&mut auth.jwt_issuer, &flags.jwt_issuer),
            (&mut auth.jwt_audience, &flags.jwt_audience),
        ] {
            if flag.is_some() {
                field.clone_from(flag);
            }
        }
        set(&mut self.limits.messages_per_sec, &flags.messages_per_sec);
        set(&mut self.limits.message_burst, &flags.message_burst);
        set(&mut self.limits.max_message_bytes, &flags.max_message_bytes);
        set(&mut self.limits.max_rooms, &flags.max_rooms);
        for (field, flag) in [
            (&mut self.tls.cert_file, &flags.tls_cert_file),
            (&mut self.tls.key_file, &flags.tls_key_file),
            (&mut self.metrics.token_file, &flags.metrics_token_file),
        ] {
            if flag.is_some() {
                field.clone_from(flag);
            }
        }
        self.apply_turn(flags);
        for (field, flag) in [
            (&mut self.tls.redirect_http, &flags.tls_redirect_http),
            (&mut self.metrics.bind, &flags.metrics_bind),
        ] {
            if flag.is_some() {
                *field = *flag;
            }
        }
    }

    /// The `[turn]` flags. URLs or a secret file set up the section when the file has none; the
    /// secret from the environment alone does not (it may be set for a whole fleet).
    fn apply_turn(&mut self, flags: &Flags) {
        if flags.turn_urls.is_some() || flags.turn_secret_file.is_some() {
            self.turn.get_or_insert_with(TurnSection::default);
        }
        let Some(turn) = &mut self.turn else {
            return;
        };
        if let Some(urls) = &flags.turn_urls {
            turn.urls.clone_from(urls);
        }
        if let Some(secret) = &flags.turn_secret {
            turn.secret = Some(Secret(secret.clone()));
        }
        if flags.turn_secret_file.is_some() {
            turn.secret_file.clone_from(&flags.turn_secret_file);
        }
        if let Some(lifetime) = flags.turn_credential_lifetime_secs {
            turn.credential_lifetime_secs = lifetime;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.admin_key.as_deref().is_some_and(|k| k.len() < 16) {
            return Err(ConfigError::Invalid(
                "admin_key must be at least 16 characters".into(),
            ));
        }
        if self.media.public_ip.iter().any(IpAddr::is_unspecified) {
            return Err(ConfigError::Invalid(
                "media.public_ip must be addresses browsers can reach, not 0.0.0.0 or ::".into(),
            ));
        }
        let tcp = &self.media.tcp;
        if tcp.max_connections == 0 || tcp.max_per_address == 0 || tcp.outbound_kib == 0 {
            return Err(ConfigError::Invalid(
                "media.tcp: max_connections, max_per_address and outbound_kib must be at least 1"
                    .into(),
            ));
        }
        if tcp.first_stun_secs == 0 || tcp.idle_secs == 0 || tcp.write_stall_secs == 0 {
            return Err(ConfigError::Invalid(
                "media.tcp: first_stun_secs, idle_secs and write_stall_secs must be at least 1"
                    .into(),
            ));
        }
        if self.media.connect_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "media.connect_timeout_secs must be at least 1: a browser needs time for ICE and DTLS"
                    .into(),
            ));
        }
        if self.max_participants_per_room <= self.limits.teacher_seats {
            return Err(ConfigError::Invalid(format!(
                "max_participants_per_room must be more than limits.teacher_seats ({}): \
                 pupils need at least one seat",
                self.limits.teacher_seats
            )));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "public_url must start with http:// or https://, got {url:?}"
                )));
            }
        }
        self.auth.validate().map_err(ConfigError::Invalid)?;
        self.limits.validate().map_err(ConfigError::Invalid)?;
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.metrics.validate().map_err(ConfigError::Invalid)?;
        if let Some(turn) = &self.turn {
            turn.validate().map_err(ConfigError::Invalid)?;
        }
        self.check.validate().map_err(ConfigError::Invalid)?;
        for origin in &self.allowed_origins {
            validate_allowed_origin(origin).map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }

    /// The limits and timings every class gets.
    pub fn class_config(&self) -> crate::class::ClassConfig {
        crate::class::ClassConfig {
            max_participants: self.max_participants_per_room,
            chat_history: self.chat_history,
            max_lobby: self.max_lobby,
            grace: std::time::Duration::from_secs(self.resume_grace_secs),
            teacher_seats: self.limits.teacher_seats,
            lobby_places_per_address: self.limits.lobby_places_per_address,
        }
    }

    /// Shard count with 0 resolved to the number of cores.
    /// ICE-TCP port of shard 0: `tcp_port_base`, or the UDP numbers when it is unset.
    pub fn tcp_port_base(&self) -> u16 {
        self.media.tcp_port_base.unwrap_or(self.media.udp_port_base)
    }

    pub fn shard_count(&self) -> usize {
        match self.media.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_laptop_setup() {
        let config = Config::load(&Flags::default()).expect("defaults are valid");
        assert_eq!(config.http.to_string(), "127.0.0.1:8080");
        assert!(
            config.media.public_ip.is_empty(),
            "media on the machine's addresses"
        );
        assert_eq!(config.tcp_port_base(), config.media.udp_port_base);
        assert!(config.admin_key.is_none());
    }

    #[test]
    fn file_then_flags_override_in_order() {
        let dir = std::env::temp_dir().join(format!("classroom-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "http = \"127.0.0.1:9000\"\ntoken_ttl_secs = 60\n[media]\nudp_port_base = 5000\npublic_ip = \"192.0.2.1\"\n[media.tcp]\nmax_per_address = 7\n",
        )
        .expect("write");
        let flags = Flags {
            config: Some(path),
            token_ttl_secs: Some(5),
            ..Flags::default()
        };
        let config = Config::load(&flags).expect("valid");
        assert_eq!(config.http.port(), 9000);
        assert_eq!(config.media.udp_port_base, 5000);
        assert_eq!(config.tcp_port_base(), 5000);
        assert_eq!(
            config.media.public_ip,
            ["192.0.2.1".parse::<IpAddr>().expect("ip")]
        );
        assert_eq!(config.media.tcp.limits().max_per_address, 7);
        assert_eq!(config.token_ttl_secs, 5);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_a_reason() {
        let err = toml::from_str::<Config>("htp = \"x\"").expect_err("typo refused");
        assert!(err.to_string().contains("htp"));
        let flags = Flags {
            admin_key: Some("short".into()),
            ..Flags::default()
        };
        let err = Config::load(&flags).expect_err("short key refused");
        assert!(err.to_string().contains("admin_key"));
    }

    #[test]
    fn auth_and_limits_come_from_the_file_and_flags_win() {
        let text = "allowed_origins = [\"https://moodle.example.org\"]\n\
                    [auth]\njwt_hs256_secret = \"0123456789abcdef0123456789abcdef\"\n\
                    jwt_issuer = \"https://portal.example\"\n\
                    [limits]\nmax_rooms = 7\nmessages_per_sec = 5\n";
        let mut config: Config = toml::from_str(text).expect("parses");
        config.apply(&Flags {
            max_rooms: Some(9),
            allowed_origins: Some(vec!["https://a.example".into(), "https://b.example".into()]),
            ..Flags::default()
        });
        config.validate().expect("valid");
        assert_eq!(config.limits.max_rooms, 9);
        assert_eq!(config.limits.messages_per_sec, 5);
        assert_eq!(config.limits.message_burst, 50);
        assert_eq!(config.allowed_origins.len(), 2);
        assert_eq!(
            config.auth.jwt_issuer.as_deref(),
            Some("https://portal.example")
        );
        assert!(
            !format!("{config:?}").contains("0123456789abcdef"),
            "secret not in Debug"
        );
    }

    #[test]
    fn tls_and_metrics_come_from_the_file_and_flags_and_half_a_pair_is_refused() {
        let text = "[tls]\ncert_file = \"/etc/classroom/fullchain.pem\"\n\
                    key_file = \"/etc/classroom/privkey.pem\"\n\
                    redirect_http = \"0.0.0.0:80\"\n\
                    [metrics]\nbind = \"10.0.0.5:9100\"\n";
        let mut config: Config = toml::from_str(text).expect("parses");
        config.apply(&Flags {
            tls_key_file: Some("/run/secrets/key.pem".into()),
            metrics_token_file: Some("/run/secrets/metrics".into()),
            ..Flags::default()
        });
        config.validate().expect("valid");
        assert_eq!(
            config.tls.key_file.as_deref(),
            Some(Path::new("/run/secrets/key.pem"))
        );
        assert_eq!(config.tls.redirect_http.map(|a| a.port()), Some(80));
        assert_eq!(config.tls.hsts().as_deref(), Some("max-age=31536000"));
        assert_eq!(config.metrics.bind.map(|a| a.port()), Some(9100));
        for (text, needle) in [
            (
                "[tls]\ncert_file = \"c.pem\"",
                "set both cert_file and key_file",
            ),
            (
                "[tls]\nredirect_http = \"0.0.0.0:80\"",
                "redirect_http needs HTTPS",
            ),
            (
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nhandshake_timeout_secs = 0",
                "handshake_timeout_secs",
            ),
        ] {
            let config: Config = toml::from_str(text).expect("parses");
            let err = config.validate().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert_eq!(Config::default().tls.hsts(), None, "no HSTS without HTTPS");
    }

    #[test]
    fn turn_comes_from_the_file_and_the_secret_from_the_environment_only() {
        let text =
            "[turn]\nurls = [\"turn:turn.example.org:3478\"]\ncredential_lifetime_secs = 600\n";
        let mut config: Config = toml::from_str(text).expect("parses");
        let err = config.validate().expect_err("no secret yet").to_string();
        assert!(err.contains("no shared secret"), "{err}");
        config.apply(&Flags {
            turn_secret: Some("0123456789abcdef0123456789abcdef".into()),
            ..Flags::default()
        });
        config
            .validate()
            .expect("valid with the secret from the environment");
        let turn = config.turn.as_ref().expect("[turn]");
        assert_eq!(turn.credential_lifetime_secs, 600);
        assert!(
            !format!("{config:?}").contains("0123456789abcdef"),
            "redacted"
        );

        let mut config = Config::default();
        config.apply(&Flags {
            turn_secret: Some("0123456789abcdef0123456789abcdef".into()),
            ..Flags::default()
        });
        assert!(config.turn.is_none(), "a secret alone sets up no relay");
        config.apply(&Flags {
            turn_urls: Some(vec!["turns:turn.example.org:443?transport=tcp".into()]),
            turn_secret: Some("too short".into()),
            ..Flags::default()
        });
        let err = config.validate().expect_err("short").to_string();
        assert!(err.contains("at least 32"), "{err}");
        assert!(!err.contains("too short"), "{err}");
    }

    #[test]
    fn bad_auth_and_limit_values_are_refused_with_a_reason() {
        for (text, needle) in [
            ("[auth]\njwt_hs256_secret = \"short\"", "at least 32"),
            ("[limits]\nmax_rooms = 0", "max_rooms"),
            ("[limits]\nmax_message_bytes = 10", "max_message_bytes"),
            (
                "allowed_origins = [\"moodle.example.org\"]",
                "allowed_origins",
            ),
        ] {
            let config: Config = toml::from_str(text).expect("parses");
            let err = config.validate().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
