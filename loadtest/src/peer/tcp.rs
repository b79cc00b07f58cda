//! A peer's packets over ICE-TCP, as a browser whose UDP is filtered sends them: one connection
//! from this peer (an active candidate) to the shard's passive TCP candidate, every packet behind
//! a two-byte length (RFC 4571) both ways.
//!
//! Reads carry the kernel's receive stamp (`SO_TIMESTAMPNS` works on TCP too: the stamp of the
//! newest segment a read consumed), so a frame's latency is counted to its arrival, as for UDP,
//! not to when this generator got round to it. A read can hold several packets; all get the stamp
//! of the newest, which can only make TCP look slower, never faster.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
use nix::sys::time::TimeSpec;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};

use super::arrival::{self, Received};

/// Largest packet either side frames (the server's own limit, `sfu::tcp::framing::MAX_FRAME`).
const MAX_FRAME: usize = 2048;
/// Bytes read at a time: room for many frames, so one read usually brings a burst.
const READ_CHUNK: usize = 16 * 1024;

/// One ICE-TCP connection to the server.
#[derive(Debug)]
pub struct TcpWire {
    stream: TcpStream,
    server: SocketAddr,
    local: SocketAddr,
    /// Bytes read and not yet handed out as frames: `inbound[start..]`.
    inbound: Vec<u8>,
    start: usize,
    /// The kernel's stamp of the newest segment read so far.
    stamp: Option<SystemTime>,
}

impl TcpWire {
    /// Connects from loopback to the server's passive candidate `server`.
    pub async fn connect(server: SocketAddr) -> io::Result<TcpWire> {
        let socket = if server.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_nodelay(true)?;
        let stream = socket.connect(server).await?;
        arrival::enable_stamps(&stream)?;
        let local = stream.local_addr()?;
        Ok(TcpWire {
            stream,
            server,
            local,
            inbound: Vec::with_capacity(READ_CHUNK),
            start: 0,
            stamp: None,
        })
    }

    /// Our end of the connection: the active candidate's address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Sends one packet to `destination`; a packet for another address (a candidate pair this
    /// connection is not) goes nowhere, as a browser's would.
    pub async fn send(&mut self, packet: &[u8], destination: SocketAddr) -> io::Result<()> {
        if destination != self.server {
            return Ok(());
        }
        let len = u16::try_from(packet.len())
            .ok()
            .filter(|len| usize::from(*len) <= MAX_FRAME)
            .ok_or_else(|| io::Error::other(format!("a {} byte packet", packet.len())))?;
        let mut frame = Vec::with_capacity(2 + packet.len());
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(packet);
        self.stream.write_all(&frame).await
    }

    /// Waits for the next whole packet, copied into `buf`.
    pub async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            if let Some(received) = self.take_frame(buf)? {
                return Ok(received);
            }
            let stream = &self.stream;
            let (inbound, stamp) = (&mut self.inbound, &mut self.stamp);
            stream
                .async_io(Interest::READABLE, || read_stamped(stream, inbound, stamp))
                .await?;
        }
    }

    /// The next packet if one is already here (`WouldBlock` otherwise).
    pub fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        if let Some(received) = self.take_frame(buf)? {
            return Ok(received);
        }
        let stream = &self.stream;
        let (inbound, stamp) = (&mut self.inbound, &mut self.stamp);
        stream.try_io(Interest::READABLE, || read_stamped(stream, inbound, stamp))?;
        self.take_frame(buf)?
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }

    /// Cuts the next whole frame off what was read. A length over [`MAX_FRAME`] or of zero is
    /// not a server we can follow: an error, which ends this peer's run.
    fn take_frame(&mut self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let pending = &self.inbound[self.start..];
        let [high, low, rest @ ..] = pending else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        if len == 0 || len > MAX_FRAME.min(buf.len()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the server framed a {len} byte packet"),
            ));
        }
        let Some(packet) = rest.get(..len) else {
            return Ok(None);
        };
        buf[..len].copy_from_slice(packet);
        self.start += 2 + len;
        if self.start == self.inbound.len() {
            self.inbound.clear();
            self.start = 0;
        }
        Ok(Some(Received {
            len,
            source: self.server,
            arrived: self.stamp,
        }))
    }
}

/// One non-blocking read onto the end of `inbound`, keeping the kernel's stamp.
fn read_stamped(
    stream: &TcpStream,
    inbound: &mut Vec<u8>,
    stamp: &mut Option<SystemTime>,
) -> io::Result<()> {
    let filled = inbound.len();
    inbound.resize(filled + READ_CHUNK, 0);
    let mut iov = [IoSliceMut::new(&mut inbound[filled..])];
    let mut space = nix::cmsg_space!(TimeSpec);
    let read = recvmsg::<SockaddrStorage>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)
    .and_then(|msg| {
        for cmsg in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmTimestampns(at) = cmsg {
                let since_epoch =
                    Duration::new(at.tv_sec().max(0) as u64, at.tv_nsec().max(0) as u32);
                *stamp = Some(SystemTime::UNIX_EPOCH + since_epoch);
            }
        }
        Ok(msg.bytes)
    });
    inbound.truncate(filled + *read.as_ref().unwrap_or(&0));
    match read? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the ICE-TCP connection",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn packets_go_out_framed_and_come_back_whole_with_a_stamp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = listener.local_addr().expect("addr");
        let before = SystemTime::now();
        let (wire, accepted) = tokio::join!(TcpWire::connect(server), listener.accept());
        let mut wire = wire.expect("connected");
        let (mut peer, _) = accepted.expect("accepted");

        wire.send(b"hello", server).await.expect("send");
        let other = SocketAddr::from(([127, 0, 0, 1], 9));
        wire.send(b"elsewhere", other)
            .await
            .expect("dropped quietly");
        let mut framed = [0u8; 7];
        peer.read_exact(&mut framed).await.expect("read");
        assert_eq!(&framed, b"\0\x05hello");

        // Two packets in one segment, a third split across writes.
        peer.write_all(b"\0\x02ab\0\x03cde\0\x04fg")
            .await
            .expect("write");
        let mut buf = [0u8; 2048];
        let first = wire.recv(&mut buf).await.expect("first");
        assert_eq!(&buf[..first.len], b"ab");
        assert_eq!(first.source, server);
        let second = wire.try_recv(&mut buf).expect("already read");
        assert_eq!(&buf[..second.len], b"cde");
        let waiting = wire.try_recv(&mut buf).expect_err("half a frame");
        assert_eq!(waiting.kind(), io::ErrorKind::WouldBlock);
        peer.write_all(b"hi").await.expect("write");
        let third = wire.recv(&mut buf).await.expect("third");
        assert_eq!(&buf[..third.len], b"fghi");

        // The kernel turns receive stamps on for the whole machine a moment after the first
        // socket asks (a deferred work item): on a machine where nothing else stamps, the
        // first segments can arrive unstamped. Later ones carry the stamp.
        let mut stamp = None;
        for _ in 0..100 {
            peer.write_all(b"\0\x01s").await.expect("write");
            let got = wire.recv(&mut buf).await.expect("frame");
            assert_eq!(&buf[..got.len], b"s");
            if got.arrived.is_some() {
                stamp = got.arrived;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stamp = stamp.expect("no kernel stamp on 100 frames over a second");
        assert!(stamp >= before - Duration::from_millis(1));
    }

    #[tokio::test]
    async fn an_oversized_or_empty_frame_and_a_close_are_errors() {
        for bytes in [&b"\x08\x01"[..], &b"\0\0"[..], &b""[..]] {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let server = listener.local_addr().expect("addr");
            let (wire, accepted) = tokio::join!(TcpWire::connect(server), listener.accept());
            let mut wire = wire.expect("connected");
            let (mut peer, _) = accepted.expect("accepted");
            peer.write_all(bytes).await.expect("write");
            drop(peer);
            let mut buf = [0u8; 2048];
            let error = wire.recv(&mut buf).await.expect_err("refused");
            let expected = if bytes.is_empty() {
                io::ErrorKind::UnexpectedEof
            } else {
                io::ErrorKind::InvalidData
            };
            assert_eq!(error.kind(), expected, "{bytes:?}: {error}");
        }
    }
}
