//! How many probes the node holds: per network and in all, with a counter for each outcome and
//! each refusal (for `/metrics`). The map holds a network only while it has a probe: an address
//! is personal data, kept no longer than the bound needs it, and never logged.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::limits::counters::{Counter, Gauge};
use crate::limits::per_address::network_of;

use super::CheckSection;

/// Why a probe was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeRefusal {
    /// The network already holds `probes_per_address`.
    PerAddress,
    /// The node already holds `max_probes`.
    NodeFull,
    /// The connection already asked for `probes_per_connection`.
    PerConnection,
}

/// The node's probes.
#[derive(Debug)]
pub struct ProbeBudget {
    per_address: usize,
    most: usize,
    held: Mutex<Held>,
    /// Spreads probes over the shards, so each shard's port gets checked in turn.
    next_shard: AtomicUsize,
    /// Probes held now.
    pub live: Gauge,
    pub connected: Counter,
    pub timed_out: Counter,
    pub failed: Counter,
    pub refused_per_address: Counter,
    pub refused_node_full: Counter,
    pub refused_per_connection: Counter,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_network: HashMap<IpAddr, usize>,
}

/// One probe's place in the budget, given back when dropped.
#[derive(Debug)]
pub struct ProbeSlot {
    budget: Arc<ProbeBudget>,
    network: IpAddr,
}

impl ProbeBudget {
    pub fn new(config: &CheckSection) -> Self {
        ProbeBudget {
            per_address: config.probes_per_address,
            most: config.max_probes,
            held: Mutex::new(Held::default()),
            next_shard: AtomicUsize::new(0),
            live: Gauge::default(),
            connected: Counter::default(),
            timed_out: Counter::default(),
            failed: Counter::default(),
            refused_per_address: Counter::default(),
            refused_node_full: Counter::default(),
            refused_per_connection: Counter::default(),
        }
    }

    /// Takes a place for a probe from `ip`'s network, or says (and counts) why not.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<ProbeSlot, ProbeRefusal> {
        let network = network_of(ip);
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.total >= self.most {
            self.refused_node_full.add();
            return Err(ProbeRefusal::NodeFull);
        }
        let mine = held.by_network.get(&network).copied().unwrap_or(0);
        if mine >= self.per_address {
            self.refused_per_address.add();
            return Err(ProbeRefusal::PerAddress);
        }
        held.total += 1;
        held.by_network.insert(network, mine + 1);
        self.live.add(1);
        Ok(ProbeSlot {
            budget: self.clone(),
            network,
        })
    }

    /// The shard for the next probe, of `shards`.
    pub fn next_shard(&self, shards: usize) -> usize {
        self.next_shard.fetch_add(1, Ordering::Relaxed) % shards.max(1)
    }

    /// Networks holding a probe now (for tests: none once every probe is freed).
    pub fn networks_held(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.by_network.len()
    }

    /// Appends the probe gauge and counters in Prometheus text format.
    pub fn write_prometheus(&self, text: &mut String) {
        let _ = writeln!(text, "# TYPE classroom_check_probes gauge");
        let _ = writeln!(text, "classroom_check_probes {}", self.live.get());
        let labelled = [
            (
                "classroom_check_probes_total",
                "outcome",
                [
                    ("connected", &self.connected),
                    ("timed_out", &self.timed_out),
                    ("failed", &self.failed),
                ],
            ),
            (
                "classroom_check_probes_refused_total",
                "reason",
                [
                    ("per_address", &self.refused_per_address),
                    ("node_full", &self.refused_node_full),
                    ("per_connection", &self.refused_per_connection),
                ],
            ),
        ];
        for (name, label, series) in labelled {
            let _ = writeln!(text, "# TYPE {name} counter");
            for (value, counter) in series {
                let _ = writeln!(text, "{name}{{{label}=\"{value}\"}} {}", counter.get());
            }
        }
    }
}

impl Drop for ProbeSlot {
    fn drop(&mut self) {
        let budget = &self.budget;
        let mut held = budget.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.total = held.total.saturating_sub(1);
        if let Some(count) = held.by_network.get_mut(&self.network) {
            *count -= 1;
            if *count == 0 {
                held.by_network.remove(&self.network);
            }
        }
        budget.live.sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_address: usize, most: usize) -> Arc<ProbeBudget> {
        Arc::new(ProbeBudget::new(&CheckSection {
            probes_per_address: per_address,
            max_probes: most,
            ..CheckSection::default()
        }))
    }

    #[test]
    fn a_network_gets_its_share_and_no_more() {
        let budget = budget(2, 10);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let a_too: IpAddr = "2001:db8::1".parse().expect("ip");
        let a_too_b: IpAddr = "2001:db8::2".parse().expect("ip");
        let one = budget.take(a).expect("first");
        let _two = budget.take(a).expect("second");
        assert_eq!(
            budget.take(a).expect_err("over the share"),
            ProbeRefusal::PerAddress
        );
        let _v6 = budget.take(a_too).expect("another network");
        let _v6b = budget.take(a_too_b).expect("same /64, second");
        assert_eq!(
            budget.take(a_too_b).expect_err("over the share"),
            ProbeRefusal::PerAddress,
            "an IPv6 /64 counts as one network"
        );
        drop(one);
        budget.take(a).expect("a freed place is given again");
        assert_eq!(budget.refused_per_address.get(), 2);
    }

    #[test]
    fn the_node_total_holds_and_everything_comes_back() {
        let budget = budget(5, 3);
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        let slots: Vec<_> = (1..=3).map(|n| budget.take(ip(n)).expect("room")).collect();
        assert_eq!(
            budget.take(ip(9)).expect_err("over the total"),
            ProbeRefusal::NodeFull
        );
        assert_eq!(budget.live.get(), 3);
        drop(slots);
        assert_eq!(budget.live.get(), 0);
        assert_eq!(budget.networks_held(), 0, "no address kept once freed");
    }
}
