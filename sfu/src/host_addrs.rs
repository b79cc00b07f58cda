//! The machine's own addresses, for the embedded default: media announced on every interface.
//!
//! Firefox gathers no loopback candidates, so a host candidate on 127.0.0.1 alone never pairs
//! with it; a candidate on each of the machine's other addresses does (and Chromium still pairs
//! over loopback).

use std::net::IpAddr;

use nix::ifaddrs::getifaddrs;

/// The addresses of the machine's interfaces that are up and usable as ICE host candidates (no
/// link-local, no IPv6 at all: a candidate per address is a pair per address to check), then
/// loopback. The loopback address stays last, for the tests and for Chromium on the same machine.
pub fn machine_addresses() -> Vec<IpAddr> {
    let mut found: Vec<IpAddr> = Vec::new();
    if let Ok(interfaces) = getifaddrs() {
        for interface in interfaces {
            let Some(v4) = interface.address.as_ref().and_then(|a| a.as_sockaddr_in()) else {
                continue;
            };
            let ip = IpAddr::V4(v4.ip());
            let usable = !ip.is_loopback() && !ip.is_unspecified() && !v4.ip().is_link_local();
            if usable && !found.contains(&ip) {
                found.push(ip);
            }
        }
    }
    found.push(IpAddr::from([127, 0, 0, 1]));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_comes_last_and_once() {
        let addrs = machine_addresses();
        assert_eq!(addrs.last(), Some(&IpAddr::from([127, 0, 0, 1])));
        assert_eq!(addrs.iter().filter(|a| a.is_loopback()).count(), 1);
        assert!(addrs.iter().all(|a| !a.is_unspecified()));
    }
}
