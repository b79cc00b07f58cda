//! One ICE-TCP connection: its socket, the frames coming in, the bytes waiting to go out.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::framing::{self, FrameDecoder, FrameError};
use super::limits::CloseReason;

#[derive(Debug)]
pub(super) struct Connection {
    pub stream: TcpStream,
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub decoder: FrameDecoder,
    /// Framed bytes to send; `outbound[written..]` is still to go.
    outbound: Vec<u8>,
    written: usize,
    pub opened: Instant,
    /// A STUN request signed for one of the shard's sessions came on it.
    pub authenticated: bool,
    pub last_received: Instant,
    /// Last time the kernel took bytes, or the queue was empty.
    pub last_progress: Instant,
    /// Registered for writability (bytes are waiting).
    pub wants_write: bool,
    /// Listed among the connections to write at the end of this turn.
    pub write_listed: bool,
}

/// What one read did.
pub(super) enum ReadOutcome {
    /// Bytes (maybe none) are in the decoder.
    Read,
    /// The peer closed, or the socket failed.
    Closed,
}

impl Connection {
    pub fn new(stream: TcpStream, remote: SocketAddr, local: SocketAddr, now: Instant) -> Self {
        Connection {
            stream,
            remote,
            local,
            decoder: FrameDecoder::default(),
            outbound: Vec::new(),
            written: 0,
            opened: now,
            authenticated: false,
            last_received: now,
            last_progress: now,
            wants_write: false,
            write_listed: false,
        }
    }

    /// One read into the decoder: one per turn, so a fast sender cannot hold the shard.
    pub fn read(&mut self) -> ReadOutcome {
        let spare = self.decoder.spare();
        if spare.is_empty() {
            return ReadOutcome::Read;
        }
        match self.stream.read(spare) {
            Ok(0) => ReadOutcome::Closed,
            Ok(n) => {
                self.decoder.filled(n);
                ReadOutcome::Read
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                ReadOutcome::Read
            }
            Err(_) => ReadOutcome::Closed,
        }
    }

    /// Queues `packet` as a frame, within `limit` bytes waiting. False if it did not fit.
    pub fn queue(&mut self, packet: &[u8], limit: usize) -> bool {
        if self.written == self.outbound.len() {
            self.outbound.clear();
            self.written = 0;
        }
        framing::encode(packet, &mut self.outbound, limit + self.written)
    }

    /// Bytes waiting to be sent.
    pub fn queued(&self) -> usize {
        self.outbound.len() - self.written
    }

    /// Hands the kernel what it takes. Err when the socket failed.
    pub fn write(&mut self, now: Instant) -> Result<(), CloseReason> {
        while self.written < self.outbound.len() {
            match self.stream.write(&self.outbound[self.written..]) {
                Ok(0) => return Err(CloseReason::PeerClosed),
                Ok(n) => {
                    self.written += n;
                    self.last_progress = now;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Err(CloseReason::PeerClosed),
            }
        }
        if self.written == self.outbound.len() {
            self.outbound.clear();
            self.written = 0;
            self.last_progress = now;
        } else if self.written > self.outbound.len() / 2 {
            // Keep the buffer from creeping: move the unsent half to the front.
            self.outbound.drain(..self.written);
            self.written = 0;
        }
        Ok(())
    }
}

impl From<FrameError> for CloseReason {
    fn from(_: FrameError) -> Self {
        CloseReason::BadFrame
    }
}
