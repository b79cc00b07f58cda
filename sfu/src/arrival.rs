//! Receiving a datagram together with the time it reached the socket, as the kernel stamped it
//! (`SO_TIMESTAMPNS`, wall clock). Time a datagram spends queued in the socket while its reader is
//! busy is then counted from its real arrival, not from when the reader got to it.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, SystemTime};

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use nix::sys::time::TimeSpec;

/// One received datagram: its length in the buffer, its source and when it arrived (`None` if
/// the kernel gave no stamp).
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub len: usize,
    pub source: SocketAddr,
    pub arrived: Option<SystemTime>,
}

/// Asks the kernel to stamp every datagram `socket` receives.
pub fn enable_stamps(socket: &impl AsFd) -> io::Result<()> {
    setsockopt(socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
}

/// The next queued datagram, without waiting (`WouldBlock` if none).
pub fn recv_stamped(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(TimeSpec);
    let msg = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let arrived = msg
        .cmsgs()
        .map_err(io::Error::from)?
        .find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmTimestampns(at) => Some(wall_time(at)),
            _ => None,
        });
    let source = msg
        .address
        .as_ref()
        .and_then(socket_addr)
        .ok_or_else(|| io::Error::other("a datagram without an IP source address"))?;
    Ok(Received {
        len: msg.bytes,
        source,
        arrived,
    })
}

fn wall_time(at: TimeSpec) -> SystemTime {
    let since_epoch = Duration::new(at.tv_sec().max(0) as u64, at.tv_nsec().max(0) as u32);
    SystemTime::UNIX_EPOCH + since_epoch
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn datagrams_arrive_stamped_with_their_source() {
        let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
        enable_stamps(&receiver).expect("SO_TIMESTAMPNS");
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let before = SystemTime::now();
        let to = receiver.local_addr().expect("addr");
        let mut buf = [0u8; 64];
        // The kernel turns receive stamps on for the whole machine a moment after the first
        // socket asks (a deferred work item): on a machine where nothing else stamps, the
        // first datagrams can arrive unstamped. Later ones carry the stamp.
        let mut arrived = None;
        for _ in 0..100 {
            sender.send_to(b"hello", to).expect("send");
            let got = (0..1000)
                .find_map(|_| match recv_stamped(&receiver, &mut buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                        None
                    }
                    other => Some(other.expect("receive")),
                })
                .expect("the datagram came within a second");
            assert_eq!(&buf[..got.len], b"hello");
            assert_eq!(got.source, sender.local_addr().expect("addr"));
            if got.arrived.is_some() {
                arrived = got.arrived;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let arrived = arrived.expect("no kernel stamp on 100 datagrams over a second");
        assert!(arrived >= before - Duration::from_millis(1));
        assert!(arrived <= SystemTime::now());
        let nothing = recv_stamped(&receiver, &mut buf).expect_err("nothing queued");
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);
    }
}
