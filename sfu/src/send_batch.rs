//! Datagrams to send, gathered and handed to the kernel in one `sendmmsg` call per batch.
//!
//! Fan-out turns one incoming packet into one outgoing packet per subscriber: with `send_to` that is
//! one system call each, the largest single cost of a busy shard. `sendmmsg` sends up to
//! [`BATCH`] datagrams (to different destinations) per call.

use std::io::IoSlice;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use str0m::net::Transmit;

/// Most datagrams per system call (the kernel's own limit, UIO_MAXIOV, is 1024).
pub const BATCH: usize = 64;

/// Datagrams waiting to go out on one socket.
pub struct SendBatch {
    pending: Vec<Transmit>,
    addrs: Vec<Option<SockaddrStorage>>,
    headers: MultiHeaders<SockaddrStorage>,
}

/// What one flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub sent: u64,
    pub failed: u64,
    pub syscalls: u64,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            pending: Vec::with_capacity(BATCH),
            addrs: Vec::with_capacity(BATCH),
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }
}

impl SendBatch {
    /// Queues a datagram. Returns true when the batch is full and should be flushed.
    pub fn push(&mut self, transmit: Transmit) -> bool {
        self.pending.push(transmit);
        self.pending.len() >= BATCH
    }

    /// Number of datagrams waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Sends everything queued. A datagram the kernel refuses (say, an ICMP error reported for a
    /// peer that went away) is counted and skipped; the rest still go.
    pub fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        let mut done = Flushed::default();
        let mut start = 0;
        while start < self.pending.len() {
            let chunk = &self.pending[start..self.pending.len().min(start + BATCH)];
            let slices: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|t| [IoSlice::new(&t.contents)]).collect();
            self.addrs.clear();
            self.addrs.extend(
                chunk
                    .iter()
                    .map(|t| Some(SockaddrStorage::from(t.destination))),
            );
            done.syscalls += 1;
            match sendmmsg(
                socket.as_raw_fd(),
                &mut self.headers,
                &slices,
                &self.addrs,
                [],
                MsgFlags::empty(),
            ) {
                Ok(results) => {
                    let sent = results.count();
                    if sent == 0 {
                        // Nothing accepted (socket buffer full): drop the rest rather than spin;
                        // media is real-time and str0m retransmits what matters.
                        done.failed += (self.pending.len() - start) as u64;
                        break;
                    }
                    start += sent;
                    done.sent += sent as u64;
                }
                Err(Errno::EINTR) => {}
                Err(e) => {
                    // The error belongs to the first datagram of the chunk.
                    tracing::debug!(error = %e, "send failed");
                    start += 1;
                    done.failed += 1;
                }
            }
        }
        self.pending.clear();
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::net::{DatagramSend, Protocol};

    fn transmit(from: std::net::SocketAddr, to: std::net::SocketAddr, byte: u8) -> Transmit {
        Transmit {
            proto: Protocol::Udp,
            source: from,
            destination: to,
            contents: DatagramSend::from(vec![byte; 100]),
        }
    }

    #[test]
    fn a_batch_reaches_several_destinations_in_few_calls() {
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let mut batch = SendBatch::default();
        let from = sender.local_addr().expect("addr");
        for round in 0..50u8 {
            for r in &receivers {
                batch.push(transmit(from, r.local_addr().expect("addr"), round));
            }
        }
        let flushed = batch.flush(&sender);
        assert_eq!(flushed.sent, 150);
        assert_eq!(flushed.failed, 0);
        assert_eq!(flushed.syscalls, 150usize.div_ceil(BATCH) as u64);
        let mut buf = [0u8; 200];
        for r in &receivers {
            r.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .expect("timeout");
            for round in 0..50u8 {
                let (n, source) = r.recv_from(&mut buf).expect("received");
                assert_eq!((n, source, buf[0]), (100, from, round), "in order");
            }
        }
        assert!(batch.is_empty());
    }
}
