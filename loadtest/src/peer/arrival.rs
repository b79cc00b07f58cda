//! Receiving on a peer's tokio socket with the kernel's arrival stamp (`sfu::arrival`).
//!
//! One generator thread serves every peer of a run, so a datagram can sit in its socket buffer
//! while the thread decrypts other peers' media. Latency measured when our code reads it would
//! charge that wait to the server; the kernel's stamp does not.

use std::io;

use sfu::arrival::recv_stamped;
pub use sfu::arrival::{enable_stamps, Received};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Waits for the next datagram.
pub async fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    socket
        .async_io(Interest::READABLE, || recv_stamped(socket, buf))
        .await
}

/// The next datagram if one is already queued (`WouldBlock` otherwise).
pub fn try_recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
    socket.try_io(Interest::READABLE, || recv_stamped(socket, buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[tokio::test]
    async fn a_tokio_socket_receives_stamped_datagrams() {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        enable_stamps(&receiver).expect("SO_TIMESTAMPNS");
        let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let before = SystemTime::now();
        let to = receiver.local_addr().expect("addr");
        let mut buf = [0u8; 64];
        // The kernel turns receive stamps on for the whole machine a moment after the first
        // socket asks (a deferred work item): on a machine where nothing else stamps, the
        // first datagrams can arrive unstamped. Later ones carry the stamp.
        let mut arrived = None;
        for _ in 0..100 {
            sender.send_to(b"hello", to).await.expect("send");
            let got = recv(&receiver, &mut buf).await.expect("receive");
            assert_eq!(&buf[..got.len], b"hello");
            assert_eq!(got.source, sender.local_addr().expect("addr"));
            if got.arrived.is_some() {
                arrived = got.arrived;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let arrived = arrived.expect("no kernel stamp on 100 datagrams over a second");
        assert!(arrived >= before - Duration::from_millis(1));
        let nothing = try_recv(&receiver, &mut buf).expect_err("nothing queued");
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);
    }
}
