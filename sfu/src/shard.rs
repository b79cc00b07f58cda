//! The IO layer of one shard: a thread that owns a UDP socket, an ICE-TCP listener with its
//! connections, and a [`ShardCore`].
//!
//! Commands arrive on a channel; a zero-length datagram sent to the shard's own socket wakes the
//! thread so it never has to poll the channel on a timer. The thread waits with epoll rather than
//! poll: its interest list (the UDP socket, the listener, up to thousands of TCP connections) is
//! kept by the kernel between waits, so a wake costs the sockets that are ready, not all of them.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use nix::errno::Errno;
use nix::poll::PollTimeout;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::socket::{getsockopt, setsockopt, sockopt};

use crate::arrival::{self, Received};
use crate::command::{Command, MediaEvent};
use crate::core::{HostCandidates, Input, Output, ShardCore};
use crate::hold_time::HoldHistogram;
use crate::ids::ParticipantId;
use crate::send_batch::SendBatch;
use crate::stats::ShardStats;
use crate::tcp::{TcpLimits, TcpMedia};
use str0m::net::Protocol;

/// Where a shard delivers the events of one participant (the control plane's session).
pub type EventSink = Box<dyn FnMut(MediaEvent) + Send>;

/// Largest datagram we accept; WebRTC stays under the path MTU, so 2 KiB is plenty.
const RECV_BUFFER: usize = 2048;
/// Socket buffer size asked for, each way.
const SOCKET_BUFFER: usize = 4 << 20;
/// Most datagrams read before the shard sends what they caused.
const RECV_BURST: usize = 64;
/// Most offers and answers applied between two reads of the socket. Applying one costs about a
/// millisecond per ten m-lines; a queue of them (ten pupils' bursts) applied at once held every
/// class on the shard for hundreds of ms. Other commands are cheap and all taken.
const SDP_PER_TURN: usize = 2;
/// How often the shared stats are refreshed.
const STATS_EVERY: Duration = Duration::from_millis(250);
/// Most readiness events taken from one epoll wait (the rest come on the next turn).
const EVENTS_PER_WAIT: usize = 256;
/// Epoll token of the UDP socket.
const UDP_TOKEN: u64 = 0;
/// Epoll token of the ICE-TCP listener.
const LISTENER_TOKEN: u64 = 1;

/// Where one shard listens and what it tells peers.
#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// Address the UDP socket binds to.
    pub udp_bind: SocketAddr,
    /// Address the ICE-TCP listener binds to.
    pub tcp_bind: SocketAddr,
    /// Addresses given to peers as host candidates, each with the ports actually bound.
    pub public_ips: Vec<IpAddr>,
    /// How long a new media session may take to connect.
    pub connect_timeout: Duration,
    /// Whether subscribers' downlinks are estimated and shared out.
    pub downlink_estimation: bool,
    /// The bounds of the ICE-TCP connections.
    pub tcp_limits: TcpLimits,
}

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
    tcp_addr: SocketAddr,
    candidates: HostCandidates,
    stats: Arc<ShardStats>,
    thread: Option<JoinHandle<()>>,
}

impl Shard {
    /// Binds the UDP socket and the ICE-TCP listener and starts the shard thread; peers are told
    /// to reach it at each public address on the ports actually bound.
    pub fn spawn(index: usize, config: &ShardConfig) -> io::Result<Shard> {
        let socket = UdpSocket::bind(config.udp_bind)?;
        enlarge_buffers(&socket);
        arrival::enable_stamps(&socket)?;
        let local_addr = socket.local_addr()?;
        let listener = TcpListener::bind(config.tcp_bind)?;
        let tcp_addr = listener.local_addr()?;
        let candidates = HostCandidates {
            udp: (config.public_ips.iter())
                .map(|ip| SocketAddr::new(*ip, local_addr.port()))
                .collect(),
            tcp: (config.public_ips.iter())
                .map(|ip| SocketAddr::new(*ip, tcp_addr.port()))
                .collect(),
        };
        let waker = UdpSocket::bind(SocketAddr::new(loopback_like(local_addr.ip()), 0))?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
        epoll
            .add(
                socket.as_fd(),
                EpollEvent::new(EpollFlags::EPOLLIN, UDP_TOKEN),
            )
            .map_err(io::Error::from)?;
        let tcp = TcpMedia::new(
            listener,
            LISTENER_TOKEN,
            config.tcp_limits,
            &epoll,
            Instant::now(),
        )?;
        let (requests, inbox) = crossbeam_channel::unbounded();
        let stats = Arc::new(ShardStats::default());
        let thread = thread::Builder::new()
            .name(format!("shard-{index}"))
            .spawn({
                let stats = stats.clone();
                let candidates = candidates.clone();
                let connect_timeout = config.connect_timeout;
                let downlink_estimation = config.downlink_estimation;
                move || {
                    let core = ShardCore::new(local_addr, Instant::now())
                        .with_candidates(candidates)
                        .with_connect_timeout(connect_timeout)
                        .with_downlink_estimation(downlink_estimation);
                    let sockets = Sockets {
                        udp: socket,
                        local_addr,
                        tcp,
                        epoll,
                    };
                    ShardLoop::new(sockets, core, inbox, stats).run()
                }
            })?;
        Ok(Shard {
            requests,
            waker,
            local_addr,
            tcp_addr,
            candidates,
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

    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the ICE-TCP listener is bound to.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// The first address advertised to peers as our UDP host candidate.
    pub fn public_addr(&self) -> SocketAddr {
        self.candidates
            .udp
            .first()
            .copied()
            .unwrap_or(self.local_addr)
    }

    /// Every host candidate advertised to peers.
    pub fn candidates(&self) -> &HostCandidates {
        &self.candidates
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

/// Asks for large socket buffers: a shard's socket carries every participant of many classes, and
/// a keyframe burst to thirty pupils overflows the default (~200 KiB) before the thread drains it.
/// The kernel caps the request at `net.core.rmem_max`/`wmem_max`; the outcome is logged.
fn enlarge_buffers(socket: &UdpSocket) {
    let recv = setsockopt(socket, sockopt::RcvBuf, &SOCKET_BUFFER);
    let send = setsockopt(socket, sockopt::SndBuf, &SOCKET_BUFFER);
    let got = (
        getsockopt(socket, sockopt::RcvBuf).unwrap_or(0),
        getsockopt(socket, sockopt::SndBuf).unwrap_or(0),
    );
    if recv.is_err() || send.is_err() || got.0 < SOCKET_BUFFER {
        tracing::debug!(
            receive = got.0,
            send = got.1,
            "socket buffers smaller than asked; raise net.core.rmem_max/wmem_max for busy shards"
        );
    }
}

/// One datagram of a read burst: where it is in the burst buffer, and whether it is audio RTP.
#[derive(Debug, Clone, Copy)]
struct Datagram {
    slot: usize,
    len: usize,
    source: SocketAddr,
    audio: bool,
    /// The kernel's receive stamp, for the hold-time histogram.
    arrived: Option<SystemTime>,
}

/// For a wildcard bind, talk to ourselves over loopback; otherwise use the bound address.
fn loopback_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        other => other,
    }
}

/// What a shard thread listens on.
struct Sockets {
    udp: UdpSocket,
    local_addr: SocketAddr,
    tcp: TcpMedia,
    epoll: Epoll,
}

struct ShardLoop {
    socket: UdpSocket,
    local_addr: SocketAddr,
    tcp: TcpMedia,
    epoll: Epoll,
    events: Vec<EpollEvent>,
    inbox: Receiver<Request>,
    core: ShardCore,
    sinks: HashMap<ParticipantId, EventSink>,
    stats: Arc<ShardStats>,
    stats_due: Instant,
    outgoing: SendBatch,
    datagrams_in: u64,
    datagrams_out: u64,
    /// Arrival times of the datagrams read since the last flush (reused, at most a burst).
    unflushed: Vec<SystemTime>,
    /// The datagrams of the read burst being handled (reused).
    burst: Vec<Datagram>,
    hold: HoldHistogram,
}

impl ShardLoop {
    fn new(
        sockets: Sockets,
        core: ShardCore,
        inbox: Receiver<Request>,
        stats: Arc<ShardStats>,
    ) -> Self {
        let now = Instant::now();
        ShardLoop {
            socket: sockets.udp,
            local_addr: sockets.local_addr,
            tcp: sockets.tcp,
            epoll: sockets.epoll,
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
            inbox,
            core,
            sinks: HashMap::new(),
            stats,
            stats_due: now,
            outgoing: SendBatch::default(),
            datagrams_in: 0,
            datagrams_out: 0,
            unflushed: Vec::with_capacity(RECV_BURST),
            burst: Vec::with_capacity(RECV_BURST),
            hold: HoldHistogram::default(),
        }
    }

    fn run(mut self) {
        if let Err(e) = self.socket.set_nonblocking(true) {
            tracing::error!(error = %e, "cannot make the socket non-blocking; shard stops");
            return;
        }
        let mut buf = vec![0u8; RECV_BUFFER * RECV_BURST];
        loop {
            let Some(more_waiting) = self.take_requests() else {
                return;
            };
            let deadline = self.flush();
            self.note_hold_times();
            self.publish_stats();
            // Commands left waiting are taken on the next turn, after the datagrams that came
            // meanwhile: do not sleep on them.
            let wake = if more_waiting {
                Instant::now()
            } else {
                self.tcp
                    .next_sweep()
                    .map_or(deadline, |at| at.min(deadline))
            };
            let Some(ready) = self.wait_ready(wake) else {
                return;
            };
            let now = Instant::now();
            for i in 0..ready {
                let event = self.events[i];
                match event.data() {
                    UDP_TOKEN => self.read_burst(&mut buf),
                    _ => self.tcp.on_event(&event, &self.epoll, &mut self.core, now),
                }
            }
            self.tcp.sweep(&self.epoll, &self.core, now);
            // Timers fire even while datagrams keep coming: a busy shard must still pace,
            // retransmit and send its RTCP.
            let now = Instant::now();
            if now >= deadline {
                self.core.handle_input(now, Input::Timeout);
            }
        }
    }

    /// Sleeps until a socket is ready or `deadline`. Returns how many events were taken, or
    /// `None` if waiting failed.
    fn wait_ready(&mut self, deadline: Instant) -> Option<usize> {
        let wait = deadline.saturating_duration_since(Instant::now());
        // Round up: waking a little late is harmless, waking early spins.
        let millis = wait.as_micros().div_ceil(1000).min(u128::from(u16::MAX));
        let timeout = PollTimeout::from(millis as u16);
        match self.epoll.wait(&mut self.events, timeout) {
            Ok(ready) => Some(ready),
            Err(Errno::EINTR) => Some(0),
            Err(e) => {
                tracing::error!(error = %e, "cannot wait on the sockets; shard stops");
                None
            }
        }
    }

    /// Reads what the socket holds (up to [`RECV_BURST`] datagrams) into the core, so the
    /// packets they cause go out together in a few `sendmmsg` calls. Audio goes first: the
    /// burst's audio RTP is handled before the rest, and when the burst holds both, what the
    /// audio caused is sent before the rest is handled (a keyframe fanned out to thirty
    /// subscribers would otherwise hold every audio packet read with it).
    fn read_burst(&mut self, buf: &mut [u8]) {
        let mut burst = std::mem::take(&mut self.burst);
        for (slot, cell) in buf.chunks_exact_mut(RECV_BUFFER).enumerate() {
            match arrival::recv_stamped(&self.socket, cell) {
                // A zero-length datagram is our waker: commands are waiting.
                Ok(Received { len: 0, .. }) => {}
                Ok(Received {
                    len,
                    source,
                    arrived,
                }) => {
                    self.datagrams_in += 1;
                    burst.push(Datagram {
                        slot,
                        len,
                        source,
                        audio: false,
                        arrived,
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // ICMP errors from a peer that went away surface here on Linux; not fatal.
                Err(e) => tracing::debug!(error = %e, "recv failed"),
            }
        }
        // A lone datagram has nothing to go ahead of.
        if burst.len() > 1 {
            for d in &mut burst {
                let start = d.slot * RECV_BUFFER;
                let contents = &buf[start..start + d.len];
                d.audio = self.core.is_audio_rtp(Protocol::Udp, d.source, contents);
            }
        }
        let audio = burst.iter().filter(|d| d.audio).count();
        let audio_early = audio > 0 && audio < burst.len();
        for pass_audio in [true, false] {
            for d in burst.iter().filter(|d| d.audio == pass_audio) {
                let start = d.slot * RECV_BUFFER;
                self.core.handle_input(
                    Instant::now(),
                    Input::Datagram {
                        source: d.source,
                        destination: self.local_addr,
                        contents: &buf[start..start + d.len],
                    },
                );
            }
            if pass_audio && audio_early {
                let audio_arrivals = burst.iter().filter(|d| d.audio).filter_map(|d| d.arrived);
                self.unflushed.extend(audio_arrivals);
                self.send_caused();
                self.note_hold_times();
            }
        }
        let rest = burst.iter().filter(|d| !(audio_early && d.audio));
        self.unflushed.extend(rest.filter_map(|d| d.arrived));
        burst.clear();
        self.burst = burst;
    }

    /// Feeds queued commands to the core, at most [`SDP_PER_TURN`] negotiations of them.
    /// Returns whether commands are left waiting, or `None` on shutdown.
    fn take_requests(&mut self) -> Option<bool> {
        let mut negotiations = 0;
        loop {
            if negotiations == SDP_PER_TURN {
                return Some(!self.inbox.is_empty());
            }
            match self.inbox.try_recv() {
                Ok(Request::Command(command, sink)) => {
                    let participant = command.participant();
                    let leaving = matches!(command, Command::Leave { .. });
                    if matches!(
                        command,
                        Command::Join { .. } | Command::Offer { .. } | Command::Answer { .. }
                    ) {
                        negotiations += 1;
                    }
                    if let Some(sink) = sink {
                        self.sinks.insert(participant, sink);
                    }
                    self.core
                        .handle_input(Instant::now(), Input::Command(command));
                    if leaving {
                        self.sinks.remove(&participant);
                    }
                }
                Ok(Request::Shutdown) | Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => return Some(false),
            }
        }
    }

    /// Drains the core: sends datagrams (in batches), delivers events. Returns when it next wants
    /// a timeout.
    fn flush(&mut self) -> Instant {
        loop {
            match self.core.poll_output() {
                Output::Timeout(at) => {
                    self.send_batch();
                    self.tcp.flush(&self.epoll, Instant::now());
                    return at;
                }
                output => self.deliver(output),
            }
        }
    }

    /// Sends what the input so far caused, and delivers its events, now.
    fn send_caused(&mut self) {
        while let Some(output) = self.core.poll_caused() {
            self.deliver(output);
        }
        self.send_batch();
        self.tcp.flush(&self.epoll, Instant::now());
    }

    /// A datagram into the send batch (sent when full) or a TCP queue; an event to its sink.
    fn deliver(&mut self, output: Output) {
        match output {
            Output::Transmit(t) => {
                if self.tcp.queue(&t) {
                    return;
                }
                if self.outgoing.push(t) {
                    self.send_batch();
                }
            }
            Output::Event(participant, event) => {
                let gone = event == MediaEvent::Gone;
                if let Some(sink) = self.sinks.get_mut(&participant) {
                    sink(event);
                }
                if gone {
                    self.sinks.remove(&participant);
                }
            }
            // `flush` acts on it; `poll_caused` never returns one.
            Output::Timeout(_) => {}
        }
    }

    /// Everything the datagrams read since the last flush caused has now been sent: they were
    /// held from their arrival until now (a burst's audio sent ahead of the rest is recorded
    /// when it went, by `read_burst`). (Flushing after each datagram instead would shorten
    /// the hold of the first ones in a burst, but measured at 3 classes it cost 5–15 % more CPU
    /// per forwarded packet and made p99 worse: see docs/BENCHMARKS.md.)
    fn note_hold_times(&mut self) {
        if self.unflushed.is_empty() {
            return;
        }
        let now = SystemTime::now();
        for arrived in self.unflushed.drain(..) {
            self.hold
                .record(now.duration_since(arrived).unwrap_or_default());
        }
    }

    fn send_batch(&mut self) {
        if !self.outgoing.is_empty() {
            self.datagrams_out += self.outgoing.flush(&self.socket).sent;
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
            &self.hold,
        );
        self.stats.publish_tcp(&self.tcp.counters());
    }
}
