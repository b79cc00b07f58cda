//! Where a peer's packets travel: a loopback UDP socket of its own, or, for a peer playing a pupil
//! whose UDP is filtered, one ICE-TCP connection ([`TcpWire`]) made once the server's answer names
//! its passive TCP candidate.

use std::io;
use std::net::SocketAddr;

use anyhow::{anyhow, Context};
use str0m::net::Protocol;
use tokio::net::UdpSocket;

use super::arrival::{self, Received};
use super::tcp::TcpWire;

#[derive(Debug)]
pub enum Wire {
    Udp(UdpSocket),
    /// ICE-TCP: `None` until the server's answer arrived and the connection is up.
    Tcp(Option<TcpWire>),
}

impl Wire {
    /// A loopback UDP socket with kernel receive stamps.
    pub async fn udp() -> anyhow::Result<Wire> {
        let socket = UdpSocket::bind("127.0.0.1:0").await.context("UDP bind")?;
        arrival::enable_stamps(&socket).context("kernel receive timestamps")?;
        Ok(Wire::Udp(socket))
    }

    /// Our address as the server sees it (`None`: a TCP wire not yet connected).
    pub fn local(&self) -> Option<SocketAddr> {
        match self {
            Wire::Udp(socket) => socket.local_addr().ok(),
            Wire::Tcp(wire) => wire.as_ref().map(TcpWire::local),
        }
    }

    pub fn protocol(&self) -> Protocol {
        match self {
            Wire::Udp(_) => Protocol::Udp,
            Wire::Tcp(_) => Protocol::Tcp,
        }
    }

    /// Waits for the next packet (forever on a TCP wire not yet connected).
    pub async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            Wire::Udp(socket) => arrival::recv(socket, buf).await,
            Wire::Tcp(Some(wire)) => wire.recv(buf).await,
            Wire::Tcp(None) => std::future::pending().await,
        }
    }

    /// The next packet if one is already here (`WouldBlock` otherwise).
    pub fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            Wire::Udp(socket) => arrival::try_recv(socket, buf),
            Wire::Tcp(Some(wire)) => wire.try_recv(buf),
            Wire::Tcp(None) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Sends one packet (nothing while a TCP wire is not yet connected: str0m retries STUN).
    pub async fn send(&mut self, packet: &[u8], destination: SocketAddr) -> io::Result<()> {
        match self {
            Wire::Udp(socket) => socket.send_to(packet, destination).await.map(|_| ()),
            Wire::Tcp(Some(wire)) => wire.send(packet, destination).await,
            Wire::Tcp(None) => Ok(()),
        }
    }

    /// For a TCP wire not yet connected: connects to the loopback passive TCP candidate in the
    /// server's `answer` and returns our end's address, the active candidate to add to str0m.
    pub async fn connect_to_answer(&mut self, answer: &str) -> anyhow::Result<Option<SocketAddr>> {
        let Wire::Tcp(wire @ None) = self else {
            return Ok(None);
        };
        let server = passive_tcp_candidate(answer).ok_or_else(|| {
            anyhow!(
                "the server's answer has no passive ICE-TCP candidate on loopback \
                 (start it with --public-ip 127.0.0.1)"
            )
        })?;
        let connected = TcpWire::connect(server)
            .await
            .with_context(|| format!("ICE-TCP connection to {server}"))?;
        let local = connected.local();
        *wire = Some(connected);
        Ok(Some(local))
    }
}

/// The first `tcptype passive` host candidate on a loopback address in `sdp`: the load test
/// sends nothing off this machine.
fn passive_tcp_candidate(sdp: &str) -> Option<SocketAddr> {
    sdp.lines().find_map(|line| {
        let fields: Vec<&str> = line
            .strip_prefix("a=candidate:")?
            .split_whitespace()
            .collect();
        let tcp = fields.get(2)?.eq_ignore_ascii_case("tcp");
        let passive = fields.windows(2).any(|w| w == ["tcptype", "passive"]);
        let addr = SocketAddr::new(fields.get(4)?.parse().ok()?, fields.get(5)?.parse().ok()?);
        (tcp && passive && addr.ip().is_loopback()).then_some(addr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_passive_tcp_candidate_is_picked() {
        let answer = "v=0\r\n\
            a=candidate:1 1 udp 2130706175 127.0.0.1 40000 typ host\r\n\
            a=candidate:2 1 tcp 1518280447 192.0.2.7 40000 typ host tcptype passive\r\n\
            a=candidate:3 1 tcp 1518280447 127.0.0.1 40001 typ host tcptype passive\r\n\
            a=end-of-candidates\r\n";
        assert_eq!(
            passive_tcp_candidate(answer),
            Some(SocketAddr::from(([127, 0, 0, 1], 40001)))
        );
        let udp_only = "a=candidate:1 1 udp 2130706175 127.0.0.1 40000 typ host\r\n";
        assert_eq!(passive_tcp_candidate(udp_only), None);
        let active = "a=candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active\r\n";
        assert_eq!(passive_tcp_candidate(active), None);
    }
}
