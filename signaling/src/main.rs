//! `classroom`: one node running both planes. With no flags: HTTP on 127.0.0.1:8080, media on UDP
//! 40000 upwards (one port per shard), everything in memory.

use clap::Parser;
use signaling::{Config, Flags, Server};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
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
    let media: Vec<String> = server
        .state
        .media
        .shards()
        .iter()
        .map(|s| s.public_addr().to_string())
        .collect();
    // Scripts (and the tests) read this line to find the port when it was chosen by the OS.
    println!("classroom listening on http://{}", server.http_addr);
    tracing::info!(http = %server.http_addr, media = ?media, "classroom started");
    stop.await;
    tracing::info!("shutting down");
    server.shutdown().await
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
