//! `classroom`: one node running both planes. With no flags: HTTP on 127.0.0.1:8080, media on UDP
//! 40000 upwards (one port per shard), everything in memory.

use std::io::IsTerminal;

use clap::Parser;
use signaling::log_limit::{self, WarningLimiter};
use signaling::{Config, Flags, Server};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(WarningLimiter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes are noise in journald, files and log collectors.
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .init();
    let flags = Flags::parse();
    let config = match Config::load(&flags) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("classroom: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classroom: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    // Handlers first: a signal that arrives right after the "listening" line must stop us cleanly,
    // not kill us with the default action.
    let stop = shutdown_signal()?;
    // Each connection is a file: the 1,024 a service manager often leaves as the soft limit
    // would make the node unreachable long before its connection caps.
    let files = signaling::limits::connections::raise_open_file_limit();
    tracing::info!(open_file_limit = ?files, "open file limit");
    let server = Server::start(config).await?;
    tokio::spawn(async {
        let mut every = tokio::time::interval(log_limit::WINDOW);
        every.tick().await;
        loop {
            every.tick().await;
            log_limit::report_suppressed();
        }
    });
    let media: Vec<String> = server
        .state
        .media
        .shards()
        .iter()
        .map(|s| format!("udp {} tcp {}", s.local_addr(), s.tcp_addr()))
        .collect();
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Scripts (and the tests) read this line to find the port when it was chosen by the OS.
    println!("classroom listening on {scheme}://{}", server.http_addr);
    if let Some(redirect) = server.redirect_addr {
        println!("classroom redirecting http://{redirect} to https");
    }
    if let Some(metrics) = server.metrics_addr {
        println!("classroom metrics on http://{metrics}/metrics");
    }
    let public_metrics = server.metrics_addr.is_none()
        && server.state.config.metrics.token.is_none()
        && !server.http_addr.ip().is_loopback();
    if public_metrics {
        tracing::warn!(
            "/metrics is readable by anyone who reaches this address; \
             set [metrics] token_file or [metrics] bind"
        );
    }
    tracing::info!(http = %server.http_addr, media = ?media, "classroom started");
    stop.await;
    tracing::info!("shutting down");
    let result = server.shutdown().await;
    log_limit::report_suppressed();
    result
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
