//! HTTPS built in: the `[tls]` section, the certificate that is reloaded when its files change,
//! the handshakes (done beside, not in, the accept loop), and the plain HTTP listener that only
//! redirects to HTTPS.
//!
//! rustls on the aws-lc-rs provider: the crypto str0m already brings, so the binary gains no
//! second crypto library and no OpenSSL. `tokio-rustls` rather than `axum-server`: the node's own
//! accept loop (`crate::listener`) admits each connection through the connection caps first and
//! only then spends a handshake on it, so the caps and the header timeout hold for HTTPS as they
//! do for plain HTTP.

mod certs;
mod handshake;
mod redirect;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use certs::{load_pair, CertError, Reload, ReloadingCert};
pub use handshake::Handshaker;
pub use redirect::redirect_router;

/// The `[tls]` section. HTTPS is on when both `cert_file` and `key_file` are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    /// PEM file with the certificate chain, the server's own certificate first (e.g. Let's
    /// Encrypt's `fullchain.pem`).
    pub cert_file: Option<PathBuf>,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1), e.g. `privkey.pem`.
    pub key_file: Option<PathBuf>,
    /// A plain-HTTP address (e.g. `0.0.0.0:80`) that answers every request with a 308 redirect to
    /// HTTPS (and `/healthz` with `ok`). Unset: no plain-HTTP listener.
    pub redirect_http: Option<SocketAddr>,
    /// How often the certificate files are checked for a change (they are also re-read on
    /// SIGHUP). A renewed certificate is served without a restart.
    pub reload_check_secs: u64,
    /// `Strict-Transport-Security: max-age` on HTTPS responses; 0 sends no HSTS header.
    pub hsts_max_age_secs: u64,
    /// A client that has not finished its TLS handshake by then is disconnected.
    pub handshake_timeout_secs: u64,
    /// Most TLS handshakes in progress at once; past it, new connections wait in the kernel's
    /// backlog until one finishes (the handshake is the expensive, unauthenticated part).
    pub max_handshakes: usize,
}

impl Default for TlsSection {
    fn default() -> Self {
        TlsSection {
            cert_file: None,
            key_file: None,
            redirect_http: None,
            reload_check_secs: 5,
            // One year: what browsers' preload lists ask for. No `includeSubDomains`: a school's
            // domain often has other hosts that are still plain HTTP.
            hsts_max_age_secs: 365 * 24 * 3600,
            handshake_timeout_secs: 10,
            max_handshakes: 256,
        }
    }
}

impl TlsSection {
    /// Both files, when HTTPS is on.
    pub fn files(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.cert_file.as_ref().zip(self.key_file.as_ref())
    }

    /// Checks what can be checked without reading the files.
    pub fn validate(&self) -> Result<(), String> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err("tls: set both cert_file and key_file (PEM files), or neither".into());
        }
        if self.redirect_http.is_some() && self.files().is_none() {
            return Err(
                "tls: redirect_http needs HTTPS: set cert_file and key_file as well".into(),
            );
        }
        if self.reload_check_secs == 0 {
            return Err("tls: reload_check_secs must be at least 1".into());
        }
        if !(1..=120).contains(&self.handshake_timeout_secs) {
            return Err("tls: handshake_timeout_secs must be between 1 and 120".into());
        }
        if self.max_handshakes == 0 {
            return Err("tls: max_handshakes must be at least 1".into());
        }
        Ok(())
    }

    /// The HSTS header value, if one is sent.
    pub fn hsts(&self) -> Option<String> {
        (self.files().is_some() && self.hsts_max_age_secs > 0)
            .then(|| format!("max-age={}", self.hsts_max_age_secs))
    }
}

/// HTTPS of a running node: the certificate in force and what the listener needs.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: Arc<ReloadingCert>,
    config: Arc<rustls::ServerConfig>,
    handshake_timeout: Duration,
    max_handshakes: usize,
}

impl Tls {
    /// Reads the certificate and key; a missing, unreadable or mismatched pair is an error that
    /// says which file and what is wrong, so the node refuses to start.
    pub fn from_config(section: &TlsSection) -> Result<Option<Tls>, CertError> {
        let Some((cert_file, key_file)) = section.files() else {
            return Ok(None);
        };
        let cert = Arc::new(ReloadingCert::load(cert_file, key_file)?);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(CertError::Rustls)?
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        // HTTP/1.1 only: axum serves WebSocket upgrades over HTTP/1.1, and that is all the
        // browser client speaks here.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Tls {
            cert,
            config: Arc::new(config),
            handshake_timeout: Duration::from_secs(section.handshake_timeout_secs),
            max_handshakes: section.max_handshakes,
        }))
    }

    /// What the accept loop uses to turn connections into TLS sessions.
    pub fn handshaker(&self) -> Handshaker {
        Handshaker::new(
            self.config.clone(),
            self.handshake_timeout,
            self.max_handshakes,
        )
    }
}
