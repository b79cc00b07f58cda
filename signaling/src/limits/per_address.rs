//! Limits per source address: what one network may take, so that one pupil's link (or one
//! script) cannot take what a whole class needs.
//!
//! An address here is a *network*: an IPv4 address, or an IPv6 /64 (one home or school line gets
//! a whole /64, so counting single IPv6 addresses would count nothing). These values live in
//! memory only and are never logged: an address is personal data.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::TokenBucket;

/// How often networks whose bucket has refilled are forgotten even while the map has room: an
/// address is personal data, kept no longer than the limit needs it.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The network `ip` counts against: IPv4 as is (also when written IPv4-mapped), IPv6 to its /64.
pub fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::from(segments)
            }
        },
    }
}

/// A token bucket per network, in a bounded map: `rate_per_min` sustained, `burst` at once.
#[derive(Debug)]
pub struct AddressBuckets {
    buckets: HashMap<IpAddr, TokenBucket>,
    rate_per_min: u32,
    burst: u32,
    max_addresses: usize,
    last_forgotten: Option<Instant>,
}

impl AddressBuckets {
    /// Most networks remembered at once. Past it, the buckets that have refilled (networks that
    /// asked nothing lately) are forgotten; if none has, newcomers are refused until one does,
    /// so the map cannot grow without bound.
    pub const MAX_ADDRESSES: usize = 10_000;

    pub fn new(rate_per_min: u32, burst: u32) -> Self {
        AddressBuckets {
            buckets: HashMap::new(),
            rate_per_min: rate_per_min.max(1),
            burst: burst.max(1),
            max_addresses: Self::MAX_ADDRESSES,
            last_forgotten: None,
        }
    }

    /// Takes one token for `ip`'s network; false when that network is over its rate.
    pub fn try_take(&mut self, ip: IpAddr, now: Instant) -> bool {
        let net = network_of(ip);
        let full = !self.buckets.contains_key(&net) && self.buckets.len() >= self.max_addresses;
        let due = self
            .last_forgotten
            .is_none_or(|t| now.saturating_duration_since(t) >= FORGET_EVERY);
        if full || due {
            self.buckets.retain(|_, bucket| !bucket.is_full(now));
            self.last_forgotten = Some(now);
        }
        if full && self.buckets.len() >= self.max_addresses {
            return false;
        }
        let (rate_per_min, burst) = (self.rate_per_min, self.burst);
        self.buckets
            .entry(net)
            .or_insert_with(|| TokenBucket::per_minute(rate_per_min, burst, now))
            .try_take(now)
    }

    /// Networks remembered now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no network is remembered.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(c));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(network_of(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        assert_ne!(
            network_of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
            network_of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8)))
        );
    }

    #[test]
    fn each_network_has_its_own_burst_and_rate() {
        let now = Instant::now();
        let mut buckets = AddressBuckets::new(60, 2);
        let one = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let two = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert!(buckets.try_take(one, now));
        assert!(buckets.try_take(one, now));
        assert!(!buckets.try_take(one, now), "burst spent");
        assert!(
            buckets.try_take(two, now),
            "another network is not affected"
        );
        assert!(
            buckets.try_take(one, now + Duration::from_secs(1)),
            "one a second comes back"
        );
    }

    #[test]
    fn a_quiet_network_is_forgotten_once_its_bucket_is_full_again() {
        let start = Instant::now();
        let mut buckets = AddressBuckets::new(60, 2);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        assert!(buckets.try_take(a, start));
        assert_eq!(buckets.len(), 1);
        // A minute on, `a`'s bucket has long refilled: the next call (from anyone) forgets it.
        assert!(buckets.try_take(b, start + FORGET_EVERY));
        assert_eq!(buckets.len(), 1, "only b is remembered");
    }

    #[test]
    fn the_map_is_bounded_and_forgets_quiet_networks_first() {
        let now = Instant::now();
        let mut buckets = AddressBuckets::new(60, 1);
        buckets.max_addresses = 3;
        let ip = |n: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 1));
        for n in 0..3 {
            assert!(buckets.try_take(ip(n), now));
        }
        assert!(
            !buckets.try_take(ip(3), now),
            "full of busy networks: refused"
        );
        assert_eq!(buckets.len(), 3);
        let later = now + Duration::from_secs(2);
        assert!(
            buckets.try_take(ip(3), later),
            "the refilled ones were forgotten"
        );
        assert_eq!(buckets.len(), 1);
    }
}
