//! Accepting HTTP connections: each one is counted by the [`ConnectionGate`] and served by hyper
//! with a header-read timeout, which also bounds how long a kept-alive connection may sit idle
//! between requests, so neither a silent socket nor a slowloris (headers a byte at a time) holds
//! a file descriptor for long. axum's own `serve` has no such timeout, hence this loop.
//!
//! With HTTPS, each admitted connection does its TLS handshake in its own task (see
//! `crate::tls::Handshaker`) before [`serve_connection`], which takes any byte stream: the caps
//! count a connection from its accept, handshake included.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::limits::connections::{Admission, ConnectionGate, Refusal, REFUSAL_HEADER_TIMEOUT};
use crate::limits::refusal;
use crate::server::stopping;
use crate::session::LiveSessions;
use crate::tls::Handshaker;

/// How long the accept loop pauses after an error (out of file descriptors, most likely), so
/// that it does not spin while the condition lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How often at most the accept loop logs its errors.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown`, then waits (bounded by the header timeout) for
/// the HTTP connections to finish. Upgraded WebSockets are not waited for here: they are
/// sessions, counted elsewhere.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Handshaker>,
    gate: Arc<ConnectionGate>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let connections = Arc::new(LiveSessions::default());
    let mut last_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopping(&mut shutdown) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                if last_logged.is_none_or(|t| t.elapsed() >= ACCEPT_ERROR_LOG_EVERY) {
                    tracing::warn!(error = %e, "cannot accept connections");
                    last_logged = Some(Instant::now());
                }
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // Signalling is many small messages each way: Nagle's algorithm would hold each one
        // back waiting for the peer's delayed ACK (tens of milliseconds per exchange).
        let _ = tcp.set_nodelay(true);
        let admission = gate.admit(peer.ip());
        if matches!(admission, Admission::Shed) {
            // Closed unread, before anything is spent on it.
            continue;
        }
        let live = connections.enter();
        let app = app.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(tcp, peer, admission, app, header_timeout, shutdown).await,
                Some(tls) => {
                    if let Some(tls) = tls.accept(tcp).await {
                        serve_connection(tls, peer, admission, app, header_timeout, shutdown).await;
                    }
                }
            }
            drop(live);
        });
    }
    drop(listener);
    let grace = header_timeout + Duration::from_secs(1);
    if !connections.all_ended_within(grace).await {
        tracing::debug!(
            open = connections.count(),
            "HTTP connections still open at shutdown"
        );
    }
    Ok(())
}

/// Serves one connection as `admission` says: the app (the connection's slot travels with each
/// request, so a WebSocket keeps it), or a refusal that still answers `/healthz`.
pub async fn serve_connection<IO>(
    io: IO,
    peer: SocketAddr,
    admission: Admission,
    app: Router,
    header_timeout: Duration,
    shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match admission {
        Admission::Admitted(slot) => {
            let service = service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                app.clone().oneshot(request)
            });
            drive(io, service, header_timeout, true, shutdown).await;
        }
        Admission::Refused(why, held) => {
            let service = service_fn(move |request: Request<Incoming>| async move {
                Ok::<_, Infallible>(refused(why, request.uri().path()))
            });
            // One quick answer, then the connection goes: it must not stay over the cap.
            let timeout = header_timeout.min(REFUSAL_HEADER_TIMEOUT);
            drive(io, service, timeout, false, shutdown).await;
            drop(held);
        }
        Admission::Shed => {}
    }
}

async fn drive<IO, S>(
    io: IO,
    service: S,
    header_timeout: Duration,
    keep_alive: bool,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(keep_alive);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopping(&mut shutdown) => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts and peers that went away: normal on the open network, not worth more.
        tracing::debug!(error = %e, "HTTP connection ended");
    }
}

/// The answer to a connection over a cap: `/healthz` still works, so monitoring sees the node
/// alive while it sheds load; anything else is told which cap it hit.
fn refused(why: Refusal, path: &str) -> Response<Body> {
    if path == "/healthz" {
        return "ok".into_response();
    }
    match why {
        Refusal::PerAddress => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            "too many connections from your network address; close some tabs or try again later",
        ),
        Refusal::NodeFull => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_full",
            "this server holds as many connections as it can; try again in a moment",
        ),
    }
}
