//! TLS handshakes of the node's connections.
//!
//! Each handshake runs in its connection's own task (spawned by the accept loop in
//! `crate::listener`, after the connection caps admitted it), never in the accept loop: one client
//! that sends half a ClientHello must not stop everyone else from connecting. Each has a deadline,
//! and only so many run at once; past that, a new connection waits (holding its place in the caps)
//! for a stalled one to reach its deadline.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Turns accepted connections into TLS sessions.
#[derive(Clone)]
pub struct Handshaker {
    acceptor: TlsAcceptor,
    timeout: Duration,
    running: Arc<Semaphore>,
}

impl std::fmt::Debug for Handshaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `TlsAcceptor` has no `Debug`.
        f.debug_struct("Handshaker")
            .field("timeout", &self.timeout)
            .field("free_places", &self.running.available_permits())
            .finish_non_exhaustive()
    }
}

impl Handshaker {
    pub fn new(
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
        max_handshakes: usize,
    ) -> Self {
        Handshaker {
            acceptor: TlsAcceptor::from(config),
            timeout,
            running: Arc::new(Semaphore::new(max_handshakes.max(1))),
        }
    }

    /// The TLS session over `io`, or `None` when the handshake failed or passed its deadline.
    pub async fn accept<IO>(&self, io: IO) -> Option<TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        // Closed never: the semaphore lives as long as `self`.
        let _place = self.running.acquire().await.ok()?;
        match tokio::time::timeout(self.timeout, self.acceptor.accept(io)).await {
            Ok(Ok(tls)) => Some(tls),
            // Port scanners, plain HTTP on the HTTPS port, expired certificates refused by the
            // browser: the client's business, not a warning.
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                None
            }
        }
    }
}
