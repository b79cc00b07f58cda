//! The media plane of a node: its shards.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::shard::Shard;
use crate::stats::StatsSnapshot;

/// How the media plane listens.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Number of shard threads (each with its own UDP socket).
    pub shards: usize,
    /// Address the sockets bind to.
    pub bind_ip: IpAddr,
    /// Address advertised to peers in the ICE host candidate.
    pub public_ip: IpAddr,
    /// UDP port of shard 0; shard i uses `port_base + i`. 0 lets the OS choose each port.
    pub port_base: u16,
    /// How long a new media session may take to connect before it is freed (see
    /// [`crate::core::DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: std::time::Duration,
}

/// Every shard of the node.
#[derive(Debug)]
pub struct MediaPlane {
    shards: Vec<Shard>,
}

impl MediaPlane {
    /// Binds the sockets and starts the shard threads.
    pub fn start(config: &MediaConfig) -> io::Result<MediaPlane> {
        // One DTLS/SRTP provider for every session of the process (idempotent).
        str0m::crypto::from_feature_flags().install_process_default();
        let count = config.shards.max(1);
        let mut shards = Vec::with_capacity(count);
        for index in 0..count {
            let port = match config.port_base {
                0 => 0,
                base => u16::try_from(usize::from(base) + index).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("udp port base {base} + {count} shards passes 65535"),
                    )
                })?,
            };
            shards.push(Shard::spawn(
                index,
                SocketAddr::new(config.bind_ip, port),
                config.public_ip,
                config.connect_timeout,
            )?);
        }
        Ok(MediaPlane { shards })
    }

    /// The shards, by index.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// One shard by index.
    pub fn shard(&self, index: usize) -> Option<&Shard> {
        self.shards.get(index)
    }

    /// Stats of every shard, by index.
    pub fn stats(&self) -> Vec<StatsSnapshot> {
        self.shards.iter().map(|s| s.stats().snapshot()).collect()
    }
}
