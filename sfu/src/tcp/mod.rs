//! ICE-TCP (RFC 6544, passive side) for one shard: a listener and its connections, each carrying
//! RFC 4571-framed STUN, DTLS, RTP and RTCP. Frames go to the core exactly as datagrams do (the
//! demux routes them by STUN username, then by the connection's address), so media over TCP is
//! forwarded by the same code, with the same rights, layers and keyframe handling.
//!
//! Everything here runs on the shard thread, in its epoll loop: reads are one per ready connection
//! per turn, writes are queued during a turn and handed to the kernel at its end, and a reader that
//! falls behind loses frames (counted) instead of holding the shard.

mod connection;
pub mod framing;
mod limits;

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::epoll::{Epoll, EpollEvent, EpollFlags};
use nix::sys::socket::{setsockopt, sockopt};
use str0m::net::{Protocol, Transmit};

use crate::core::{Input, ShardCore};
use connection::{Connection, ReadOutcome};
pub(crate) use limits::TCP_COUNTER_CELLS;
pub use limits::{CloseReason, TcpCounters, TcpLimits};

/// Most connections accepted per turn of the shard loop.
const ACCEPTS_PER_TURN: usize = 64;
/// Most frames of one connection handed to the core per turn (one read brings at most a few).
const FRAMES_PER_READ: usize = 64;
/// How often the deadlines of the connections are checked.
pub const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// The kernel's send buffer for one connection. Small on purpose: media queued in the kernel is
/// media that arrives late; beyond this our own bounded queue drops frames instead.
const KERNEL_SEND_BUFFER: usize = 64 * 1024;
/// First epoll token of connections (lower ones name the shard's other sockets).
pub const FIRST_CONNECTION_TOKEN: u64 = 16;

/// A shard's ICE-TCP listener and its connections.
#[derive(Debug)]
pub struct TcpMedia {
    listener: TcpListener,
    listener_token: u64,
    limits: TcpLimits,
    connections: HashMap<u64, Connection>,
    by_remote: HashMap<SocketAddr, u64>,
    per_ip: HashMap<IpAddr, usize>,
    next_token: u64,
    /// Connections with frames queued this turn.
    to_write: Vec<u64>,
    counters: TcpCounters,
    next_sweep: Instant,
}

impl TcpMedia {
    /// Takes a bound listener and registers it with `epoll` under `listener_token`.
    pub fn new(
        listener: TcpListener,
        listener_token: u64,
        limits: TcpLimits,
        epoll: &Epoll,
        now: Instant,
    ) -> io::Result<TcpMedia> {
        listener.set_nonblocking(true)?;
        epoll
            .add(
                listener.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, listener_token),
            )
            .map_err(io::Error::from)?;
        Ok(TcpMedia {
            listener,
            listener_token,
            limits,
            connections: HashMap::new(),
            by_remote: HashMap::new(),
            per_ip: HashMap::new(),
            next_token: FIRST_CONNECTION_TOKEN,
            to_write: Vec::new(),
            counters: TcpCounters::default(),
            next_sweep: now + SWEEP_EVERY,
        })
    }

    /// Totals and gauges.
    pub fn counters(&self) -> TcpCounters {
        let mut counters = self.counters;
        counters.open = self.connections.len() as u64;
        counters.unauthenticated = self
            .connections
            .values()
            .filter(|c| !c.authenticated)
            .count() as u64;
        counters.queued_bytes = self.connections.values().map(|c| c.queued() as u64).sum();
        counters
    }

    /// When the connections' deadlines are next checked.
    pub fn next_sweep(&self) -> Option<Instant> {
        (!self.connections.is_empty()).then_some(self.next_sweep)
    }

    /// Acts on one epoll event: new connections, bytes to read, room to write.
    pub fn on_event(
        &mut self,
        event: &EpollEvent,
        epoll: &Epoll,
        core: &mut ShardCore,
        now: Instant,
    ) {
        let token = event.data();
        if token == self.listener_token {
            return self.accept(epoll, now);
        }
        let flags = event.events();
        if flags.contains(EpollFlags::EPOLLOUT) {
            self.write(token, epoll, now);
        }
        if flags.intersects(EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR) {
            self.read(token, epoll, core, now);
        }
    }

    fn accept(&mut self, epoll: &Epoll, now: Instant) {
        for _ in 0..ACCEPTS_PER_TURN {
            let (stream, remote) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    // Out of file descriptors, say: the connection waits in the backlog.
                    tracing::debug!(error = %e, "accept failed");
                    return;
                }
            };
            self.counters.accepted += 1;
            let from_ip = self.per_ip.get(&remote.ip()).copied().unwrap_or(0);
            if self.connections.len() >= self.limits.max_connections
                || from_ip >= self.limits.max_per_address
                || self.by_remote.contains_key(&remote)
            {
                self.counters.closed[CloseReason::OverCap.index()] += 1;
                continue; // dropping the stream closes it
            }
            let Ok(local) = stream.local_addr() else {
                continue;
            };
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            let _ = setsockopt(&stream, sockopt::SndBuf, &KERNEL_SEND_BUFFER);
            let token = self.next_token;
            self.next_token += 1;
            let interest = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP;
            if let Err(e) = epoll.add(stream.as_fd(), EpollEvent::new(interest, token)) {
                tracing::debug!(error = %e, "cannot watch a TCP connection");
                continue;
            }
            *self.per_ip.entry(remote.ip()).or_default() += 1;
            self.by_remote.insert(remote, token);
            self.connections
                .insert(token, Connection::new(stream, remote, local, now));
        }
    }

    fn read(&mut self, token: u64, epoll: &Epoll, core: &mut ShardCore, now: Instant) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        if let ReadOutcome::Closed = conn.read() {
            return self.close(token, CloseReason::PeerClosed, epoll);
        }
        let (remote, local) = (conn.remote, conn.local);
        let mut frames = 0;
        let failure = loop {
            if frames == FRAMES_PER_READ {
                break None;
            }
            match conn.decoder.next_frame() {
                Ok(Some(frame)) => {
                    frames += 1;
                    core.handle_input(
                        now,
                        Input::TcpFrame {
                            source: remote,
                            destination: local,
                            contents: frame,
                        },
                    );
                    // Until it has proved itself, every frame must be STUN signed for a
                    // session here: the demux learns the address only from such a request.
                    if !conn.authenticated {
                        if !core.routes(Protocol::Tcp, remote) {
                            break Some(CloseReason::NotStun);
                        }
                        conn.authenticated = true;
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(CloseReason::from(e)),
            }
        };
        self.counters.frames_in += frames as u64;
        if frames > 0 {
            conn.last_received = now;
        }
        if let Some(reason) = failure {
            self.close(token, reason, epoll);
        }
    }

    /// Queues a frame the core wants sent. Returns false if it was not a TCP transmit.
    pub fn queue(&mut self, transmit: &Transmit) -> bool {
        if transmit.proto != Protocol::Tcp {
            return false;
        }
        let Some(conn) = self
            .by_remote
            .get(&transmit.destination)
            .and_then(|token| self.connections.get_mut(token))
        else {
            self.counters.dropped_no_connection += 1;
            return true;
        };
        if !conn.queue(&transmit.contents, self.limits.outbound_buffer) {
            self.counters.dropped_buffer_full += 1;
            return true;
        }
        self.counters.frames_out += 1;
        if !conn.write_listed {
            conn.write_listed = true;
            if let Some(token) = self.by_remote.get(&transmit.destination) {
                self.to_write.push(*token);
            }
        }
        true
    }

    /// Hands the kernel what this turn queued.
    pub fn flush(&mut self, epoll: &Epoll, now: Instant) {
        let mut listed = std::mem::take(&mut self.to_write);
        for token in listed.drain(..) {
            if let Some(conn) = self.connections.get_mut(&token) {
                conn.write_listed = false;
            }
            self.write(token, epoll, now);
        }
        self.to_write = listed;
    }

    fn write(&mut self, token: u64, epoll: &Epoll, now: Instant) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        if let Err(reason) = conn.write(now) {
            return self.close(token, reason, epoll);
        }
        // Ask for writability only while bytes wait, or every turn would wake for nothing.
        let waiting = conn.queued() > 0;
        if waiting != conn.wants_write {
            conn.wants_write = waiting;
            let mut interest = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP;
            if waiting {
                interest |= EpollFlags::EPOLLOUT;
            }
            let mut event = EpollEvent::new(interest, token);
            if epoll.modify(conn.stream.as_fd(), &mut event).is_err() {
                self.close(token, CloseReason::PeerClosed, epoll);
            }
        }
    }

    /// Closes the connections past a deadline, and those whose session ended.
    pub fn sweep(&mut self, epoll: &Epoll, core: &ShardCore, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_EVERY;
        let limits = self.limits;
        let overdue: Vec<(u64, CloseReason)> = self
            .connections
            .iter()
            .filter_map(|(token, c)| {
                let reason = if !c.authenticated {
                    (now.saturating_duration_since(c.opened) >= limits.first_stun_within)
                        .then_some(CloseReason::NoStunInTime)
                } else if !core.routes(Protocol::Tcp, c.remote) {
                    Some(CloseReason::SessionEnded)
                } else if now.saturating_duration_since(c.last_received) >= limits.idle_timeout {
                    Some(CloseReason::Idle)
                } else if c.queued() > 0
                    && now.saturating_duration_since(c.last_progress) >= limits.write_stall
                {
                    Some(CloseReason::Stalled)
                } else {
                    None
                };
                reason.map(|r| (*token, r))
            })
            .collect();
        for (token, reason) in overdue {
            self.close(token, reason, epoll);
        }
    }

    fn close(&mut self, token: u64, reason: CloseReason, epoll: &Epoll) {
        let Some(conn) = self.connections.remove(&token) else {
            return;
        };
        let _ = epoll.delete(conn.stream.as_fd());
        self.by_remote.remove(&conn.remote);
        if let Some(count) = self.per_ip.get_mut(&conn.remote.ip()) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&conn.remote.ip());
            }
        }
        self.counters.closed[reason.index()] += 1;
        tracing::debug!(reason = reason.label(), "ICE-TCP connection closed");
    }
}
