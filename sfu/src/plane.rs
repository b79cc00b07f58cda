//! The media plane of a node: its shards.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::host_addrs::machine_addresses;
use crate::shard::{Shard, ShardConfig};
use crate::stats::StatsSnapshot;
use crate::tcp::TcpLimits;

/// How the media plane listens.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Number of shard threads (each with its own UDP socket).
    pub shards: usize,
    /// Address the sockets (UDP and the ICE-TCP listener) bind to.
    pub bind_ip: IpAddr,
    /// Addresses advertised to peers, one UDP and one TCP host candidate each. Empty: every
    /// address of the machine's interfaces, then loopback ([`machine_addresses`]).
    pub public_ips: Vec<IpAddr>,
    /// UDP port of shard 0; shard i uses `port_base + i`. 0 lets the OS choose each port.
    pub port_base: u16,
    /// ICE-TCP port of shard 0; shard i uses `tcp_port_base + i`. 0 lets the OS choose.
    pub tcp_port_base: u16,
    /// The bounds of each shard's ICE-TCP connections.
    pub tcp_limits: TcpLimits,
    /// How long a new media session may take to connect before it is freed (see
    /// [`crate::core::DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: std::time::Duration,
    /// Whether each subscriber's downlink is estimated and its videos shared out by it (see
    /// [`crate::core::ShardCore::with_downlink_estimation`]).
    pub downlink_estimation: bool,
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
        let public_ips = if config.public_ips.is_empty() {
            machine_addresses()
        } else {
            config.public_ips.clone()
        };
        let mut shards = Vec::with_capacity(count);
        for index in 0..count {
            let udp = shard_port("udp", config.port_base, index, count)?;
            let tcp = shard_port("tcp", config.tcp_port_base, index, count)?;
            let shard = ShardConfig {
                udp_bind: SocketAddr::new(config.bind_ip, udp),
                tcp_bind: SocketAddr::new(config.bind_ip, tcp),
                public_ips: public_ips.clone(),
                connect_timeout: config.connect_timeout,
                downlink_estimation: config.downlink_estimation,
                tcp_limits: config.tcp_limits,
            };
            shards.push(Shard::spawn(index, &shard)?);
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

/// The port of shard `index`: `base + index`, or 0 (the OS picks) when `base` is 0.
fn shard_port(what: &str, base: u16, index: usize, count: usize) -> io::Result<u16> {
    if base == 0 {
        return Ok(0);
    }
    u16::try_from(usize::from(base) + index).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} port base {base} + {count} shards passes 65535"),
        )
    })
}
