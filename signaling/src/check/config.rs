//! The `[check]` section: how much the network self-test may take from a node.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Bounds of the network self-test's probes (`docs/SECURITY.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSection {
    /// Seconds a probe may take to connect before it is freed and reported `timed_out`. A browser
    /// that can reach the server connects in well under a second; ICE over TCP or a relay needs a
    /// few round trips more.
    pub probe_secs: u64,
    /// Probes one network (an IPv4 address or an IPv6 /64) may hold at once. The page takes three
    /// (UDP, TCP, relay): the default lets a few people behind one school NAT check at once.
    pub probes_per_address: usize,
    /// Probes the node holds at once, from everyone.
    pub max_probes: usize,
    /// Probes one WebSocket may ask for in its whole life (so a check connection ends by itself).
    pub probes_per_connection: u32,
}

impl Default for CheckSection {
    fn default() -> Self {
        CheckSection {
            probe_secs: 15,
            probes_per_address: 12,
            max_probes: 60,
            probes_per_connection: 6,
        }
    }
}

impl CheckSection {
    /// How long a probe may live.
    pub fn probe_lifetime(&self) -> Duration {
        Duration::from_secs(self.probe_secs)
    }

    /// Checks the numbers make sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=120).contains(&self.probe_secs) {
            return Err("check: probe_secs must be between 1 and 120".into());
        }
        if self.probes_per_address > self.max_probes {
            return Err("check: probes_per_address must not be above max_probes".into());
        }
        Ok(())
    }
}
