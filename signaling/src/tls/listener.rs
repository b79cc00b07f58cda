//! A listener whose connections come out with their TLS handshake done.
//!
//! Handshakes run in their own tasks, not in `accept`: one client that sends half a ClientHello
//! must not stop everyone else from connecting. Each has a deadline, and only so many run at once.

use std::time::Duration;

use axum::serve::Listener;
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use std::sync::Arc;

/// Wraps any listener (plain TCP, or TCP behind connection limits) with TLS.
#[derive(Debug)]
pub struct TlsListener<L: Listener> {
    inner: L,
    /// `TlsAcceptor` is this `Arc` and nothing else, but it has no `Debug`.
    config: Arc<rustls::ServerConfig>,
    timeout: Duration,
    max_handshakes: usize,
    handshakes: JoinSet<Handshake<L>>,
}

/// A finished handshake and the client's address, or `None` for one that failed or timed out.
type Handshake<L> = Option<(TlsStream<<L as Listener>::Io>, <L as Listener>::Addr)>;

impl<L: Listener> TlsListener<L> {
    pub fn new(
        inner: L,
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
        max_handshakes: usize,
    ) -> Self {
        TlsListener {
            inner,
            config,
            timeout,
            max_handshakes,
            handshakes: JoinSet::new(),
        }
    }
}

impl<L> Listener for TlsListener<L>
where
    L: Listener,
    L::Addr: Send + 'static,
{
    type Io = TlsStream<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Both branches are cancel-safe: a new TCP connection is only taken once it can be
            // put in the set, and a finished handshake stays in the set until taken.
            tokio::select! {
                (io, addr) = self.inner.accept(), if self.handshakes.len() < self.max_handshakes => {
                    let handshake = TlsAcceptor::from(self.config.clone()).accept(io);
                    let timeout = self.timeout;
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(timeout, handshake).await {
                            Ok(Ok(tls)) => Some((tls, addr)),
                            // Port scanners, plain HTTP on the HTTPS port, expired certificates
                            // refused by the browser: the client's business, not a warning.
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!("TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(session)) = done {
                        return session;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
