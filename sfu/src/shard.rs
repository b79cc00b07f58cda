//! The IO layer of one shard: a thread that owns a UDP socket and a [`ShardCore`].
//!
//! Commands arrive on a channel; a zero-length datagram sent to the shard's own socket wakes the
//! thread so it never has to poll the channel on a timer.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::command::{Command, MediaEvent};
use crate::core::{Input, Output, ShardCore};
use crate::ids::ParticipantId;
use crate::stats::ShardStats;

/// Where a shard delivers the events of one participant (the control plane's session).
pub type EventSink = Box<dyn FnMut(MediaEvent) + Send>;

/// Largest datagram we accept; WebRTC stays under the path MTU, so 2 KiB is plenty.
const RECV_BUFFER: usize = 2048;
/// How often the shared stats are refreshed.
const STATS_EVERY: Duration = Duration::from_millis(250);

enum Request {
    Command(Command, Option<EventSink>),
    Shutdown,
}

/// The shard's thread stopped (it only does so at shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardStopped;

/// A handle on a running shard thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct Shard {
    requests: Sender<Request>,
    waker: UdpSocket,
    local_addr: SocketAddr,
    public_addr: SocketAddr,
    stats: Arc<ShardStats>,
    thread: Option<JoinHandle<()>>,
}

impl Shard {
    /// Binds `bind` and starts the shard thread; peers are told to reach it at `public_ip` on the
    /// port actually bound.
    pub fn spawn(index: usize, bind: SocketAddr, public_ip: IpAddr) -> io::Result<Shard> {
        let socket = UdpSocket::bind(bind)?;
        let local_addr = socket.local_addr()?;
        let public_addr = SocketAddr::new(public_ip, local_addr.port());
        let waker = UdpSocket::bind(SocketAddr::new(loopback_like(local_addr.ip()), 0))?;
        let (requests, inbox) = crossbeam_channel::unbounded();
        let stats = Arc::new(ShardStats::default());
        let thread = thread::Builder::new()
            .name(format!("shard-{index}"))
            .spawn({
                let stats = stats.clone();
                move || ShardLoop::new(socket, local_addr, public_addr, inbox, stats).run()
            })?;
        Ok(Shard {
            requests,
            waker,
            local_addr,
            public_addr,
            stats,
            thread: Some(thread),
        })
    }

    /// Hands a command to the shard. `sink` registers where that participant's events go (give it
    /// with `Join`).
    pub fn send(&self, command: Command, sink: Option<EventSink>) -> Result<(), ShardStopped> {
        self.requests
            .send(Request::Command(command, sink))
            .map_err(|_| ShardStopped)?;
        self.wake();
        Ok(())
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address advertised to peers as our ICE host candidate.
    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    /// The shard's gauges and counters.
    pub fn stats(&self) -> &ShardStats {
        &self.stats
    }

    fn wake(&self) {
        let target = SocketAddr::new(loopback_like(self.local_addr.ip()), self.local_addr.port());
        // Best effort: if it fails the thread still wakes at its next timeout.
        let _ = self.waker.send_to(&[], target);
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Shutdown);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// For a wildcard bind, talk to ourselves over loopback; otherwise use the bound address.
fn loopback_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        other => other,
    }
}

struct ShardLoop {
    socket: UdpSocket,
    local_addr: SocketAddr,
    inbox: Receiver<Request>,
    core: ShardCore,
    sinks: HashMap<ParticipantId, EventSink>,
    stats: Arc<ShardStats>,
    stats_due: Instant,
    datagrams_in: u64,
    datagrams_out: u64,
}

impl ShardLoop {
    fn new(
        socket: UdpSocket,
        local_addr: SocketAddr,
        public_addr: SocketAddr,
        inbox: Receiver<Request>,
        stats: Arc<ShardStats>,
    ) -> Self {
        let now = Instant::now();
        ShardLoop {
            socket,
            local_addr,
            inbox,
            core: ShardCore::new(public_addr, now),
            sinks: HashMap::new(),
            stats,
            stats_due: now,
            datagrams_in: 0,
            datagrams_out: 0,
        }
    }

    fn run(mut self) {
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            if !self.take_requests() {
                return;
            }
            let deadline = self.flush();
            self.publish_stats();
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            if let Err(e) = self.socket.set_read_timeout(Some(wait)) {
                tracing::error!(error = %e, "cannot set the socket timeout; shard stops");
                return;
            }
            match self.socket.recv_from(&mut buf) {
                // A zero-length datagram is our waker: commands are waiting.
                Ok((0, _)) => {}
                Ok((n, source)) => {
                    self.datagrams_in += 1;
                    self.core.handle_input(
                        Instant::now(),
                        Input::Datagram {
                            source,
                            destination: self.local_addr,
                            contents: &buf[..n],
                        },
                    );
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.core.handle_input(Instant::now(), Input::Timeout);
                }
                // ICMP errors from a peer that went away surface here on Linux; not fatal.
                Err(e) => tracing::debug!(error = %e, "recv failed"),
            }
        }
    }

    /// Feeds queued commands to the core. Returns false on shutdown.
    fn take_requests(&mut self) -> bool {
        loop {
            match self.inbox.try_recv() {
                Ok(Request::Command(command, sink)) => {
                    let participant = command.participant();
                    let leaving = matches!(command, Command::Leave { .. });
                    if let Some(sink) = sink {
                        self.sinks.insert(participant, sink);
                    }
                    self.core
                        .handle_input(Instant::now(), Input::Command(command));
                    if leaving {
                        self.sinks.remove(&participant);
                    }
                }
                Ok(Request::Shutdown) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    /// Drains the core: sends datagrams, delivers events. Returns when it next wants a timeout.
    fn flush(&mut self) -> Instant {
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) => match self.socket.send_to(&t.contents, t.destination) {
                    Ok(_) => self.datagrams_out += 1,
                    Err(e) => tracing::debug!(error = %e, "send failed"),
                },
                Output::Event(participant, event) => {
                    let gone = event == MediaEvent::Gone;
                    if let Some(sink) = self.sinks.get_mut(&participant) {
                        sink(event);
                    }
                    if gone {
                        self.sinks.remove(&participant);
                    }
                }
                Output::Timeout(at) => return at,
            }
        }
    }

    fn publish_stats(&mut self) {
        let now = Instant::now();
        if now < self.stats_due {
            return;
        }
        self.stats_due = now + STATS_EVERY;
        self.stats.publish(
            &self.core.gauges(),
            self.core.counters(),
            (self.datagrams_in, self.datagrams_out),
        );
    }
}
