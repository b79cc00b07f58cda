//! The certificate and key: read from PEM files, checked to belong together, and swapped for a
//! renewed pair while the node runs (certbot and its kin renew every 60 to 90 days).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;

/// Why a certificate/key pair could not be used. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read TLS file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(
        "TLS cert_file {path} holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\"): {reason}"
    )]
    NoCertificate { path: PathBuf, reason: String },
    #[error(
        "TLS key_file {path} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}"
    )]
    Key { path: PathBuf, reason: String },
    #[error("TLS key_file {key} does not belong to the first certificate in {cert}: {reason}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("TLS setup failed: {0}")]
    Rustls(rustls::Error),
}

/// Reads and checks a pair of PEM files.
pub fn load_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, CertError> {
    let files = read_files(cert_file, key_file);
    parse_pair(cert_file, key_file, &files)
}

/// Both files' bytes, or why one could not be read.
type Files = Result<(Vec<u8>, Vec<u8>), (PathBuf, String)>;

fn read_files(cert_file: &Path, key_file: &Path) -> Files {
    let read = |path: &Path| std::fs::read(path).map_err(|e| (path.to_owned(), e.to_string()));
    Ok((read(cert_file)?, read(key_file)?))
}

fn parse_pair(cert_file: &Path, key_file: &Path, files: &Files) -> Result<CertifiedKey, CertError> {
    let (cert_pem, key_pem) = files.as_ref().map_err(|(path, reason)| CertError::Read {
        path: path.clone(),
        reason: reason.clone(),
    })?;
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::NoCertificate {
            path: cert_file.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: cert_file.to_owned(),
            reason: "the file is empty or holds something else".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| CertError::Key {
        path: key_file.to_owned(),
        reason: e.to_string(),
    })?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) | rustls::Error::InvalidCertificate(_) => {
            CertError::Mismatch {
                cert: cert_file.to_owned(),
                key: key_file.to_owned(),
                reason: e.to_string(),
            }
        }
        rustls::Error::General(reason) => CertError::Key {
            path: key_file.to_owned(),
            reason,
        },
        other => CertError::Rustls(other),
    })
}

/// The certificate in force, handed to every new handshake, and where it came from.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' bytes at the last attempt, good or bad: a bad pair is not retried (and warned
    /// about) every few seconds, only when a file changes again. Bytes, not modification times:
    /// two writes within the kernel's timestamp granularity would look unchanged, and the files
    /// are a few KiB read every few seconds.
    seen: Mutex<Files>,
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Replaced,
    /// The new pair is unusable; the old one stays in force.
    KeptOld,
}

impl ReloadingCert {
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<ReloadingCert, CertError> {
        let seen = read_files(cert_file, key_file);
        let pair = parse_pair(cert_file, key_file, &seen)?;
        Ok(ReloadingCert {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(Arc::new(pair)),
            seen: Mutex::new(seen),
        })
    }

    /// The certificate chain now served (DER, own certificate first).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current().cert.clone()
    }

    fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(current) => current.clone(),
            // A panic while swapping an `Arc` cannot leave it half-written.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the files if either changed since the last attempt (or always, if `force`).
    pub fn reload(&self, force: bool) -> Reload {
        let now = read_files(&self.cert_file, &self.key_file);
        let parsed = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if !force && *seen == now {
                return Reload::Unchanged;
            }
            *seen = now;
            parse_pair(&self.cert_file, &self.key_file, &seen)
        };
        match parsed {
            Ok(pair) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(pair);
                tracing::info!("TLS certificate reloaded");
                Reload::Replaced
            }
            Err(e) => {
                tracing::warn!(error = %e, "new TLS certificate not usable; still serving the previous one");
                Reload::KeptOld
            }
        }
    }

    /// Checks the files every `every`, and at once on SIGHUP, until the node stops.
    pub async fn watch(self: Arc<Self>, every: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; TLS files are only polled");
                None
            }
        };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let force = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                } } => true,
                () = crate::server::stopping(&mut shutdown) => return,
            };
            // Reading two small files; not worth a blocking-pool hop.
            self.reload(force);
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        (
            pem("CERTIFICATE", cert.der()),
            pem("PRIVATE KEY", &key.serialize_der()),
        )
    }

    fn dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("classroom-tls-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn every_bad_pair_is_refused_naming_the_file() {
        let dir = dir("bad");
        let (cert_a, key_a) = pair("a.test");
        let (_, key_b) = pair("b.test");
        let files = [
            ("cert.pem", cert_a.as_str()),
            ("key.pem", key_a.as_str()),
            ("other-key.pem", key_b.as_str()),
            ("garbage.pem", "not a pem file\n"),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let p = |name: &str| dir.join(name);
        assert!(load_pair(&p("cert.pem"), &p("key.pem")).is_ok());
        for (cert, key, needle) in [
            ("missing.pem", "key.pem", "cannot read TLS file"),
            ("garbage.pem", "key.pem", "no PEM certificate"),
            ("key.pem", "key.pem", "no PEM certificate"),
            ("cert.pem", "garbage.pem", "no usable PEM private key"),
            ("cert.pem", "cert.pem", "no usable PEM private key"),
            ("cert.pem", "other-key.pem", "does not belong"),
        ] {
            let err = load_pair(&p(cert), &p(key)).expect_err(needle).to_string();
            assert!(err.contains(needle), "{cert} + {key}: {err}");
            let named = if needle == "no PEM certificate" {
                cert
            } else {
                key
            };
            let named = if cert == "missing.pem" { cert } else { named };
            assert!(err.contains(named), "{err} names {named}");
        }
    }

    #[test]
    fn a_changed_pair_replaces_the_old_and_a_broken_one_keeps_it() {
        let dir = dir("reload");
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        let (cert_a, key_a) = pair("a.test");
        std::fs::write(&cert_file, &cert_a).expect("write");
        std::fs::write(&key_file, &key_a).expect("write");
        let reloading = ReloadingCert::load(&cert_file, &key_file).expect("loads");
        let first = reloading.chain();
        assert_eq!(reloading.reload(false), Reload::Unchanged);

        // Half a renewal: a new certificate beside the old key.
        let (cert_b, key_b) = pair("b.test");
        std::fs::write(&cert_file, &cert_b).expect("write");
        assert_eq!(reloading.reload(false), Reload::KeptOld);
        assert_eq!(reloading.chain(), first, "the old pair is still served");
        assert_eq!(
            reloading.reload(false),
            Reload::Unchanged,
            "not retried until a file changes"
        );

        std::fs::write(&key_file, &key_b).expect("write");
        assert_eq!(reloading.reload(false), Reload::Replaced);
        assert_ne!(reloading.chain(), first);
        assert_eq!(reloading.reload(true), Reload::Replaced, "SIGHUP re-reads");
    }
}
