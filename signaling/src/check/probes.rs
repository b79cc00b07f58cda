//! One connection's probes: granted by `check`, started by `check_offer`, ended by the shard's
//! `Connected` or `Gone`, by their deadline, or with the connection.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sfu::{ClientOffer, Command, MediaEvent, ParticipantId, Rejection};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::limits::outbox::Outbox;
use crate::protocol::{CheckOutcome, CheckTransport, ErrorCode, ProtocolError, ServerMessage};
use crate::rooms::media_down;
use crate::server::AppState;

use super::budget::{ProbeRefusal, ProbeSlot};

/// What a probe's media session says, tagged with the probe's number.
pub type ProbeEvent = (u32, MediaEvent);

/// The probes of one WebSocket connection. Dropping it frees every probe still held.
#[derive(Debug)]
pub struct Checks {
    state: Arc<AppState>,
    /// Where the connection comes from: counted, never logged.
    peer: IpAddr,
    events: UnboundedSender<ProbeEvent>,
    probes: BTreeMap<u32, Probe>,
    /// Probes asked for so far (also numbers them).
    asked: u32,
}

#[derive(Debug)]
struct Probe {
    transport: CheckTransport,
    deadline: Instant,
    /// The shard and the media session, once the offer went there.
    media: Option<(usize, ParticipantId)>,
    /// The place in the node's budget, given back when the probe is dropped.
    _slot: ProbeSlot,
}

impl Checks {
    /// No probe yet; the receiver gets the shard's events about this connection's probes
    /// (unbounded, but a probe says a handful of things before it ends, and probes are bounded).
    pub fn new(state: Arc<AppState>, peer: IpAddr) -> (Checks, UnboundedReceiver<ProbeEvent>) {
        let (events, receiver) = unbounded_channel();
        let checks = Checks {
            state,
            peer,
            events,
            probes: BTreeMap::new(),
            asked: 0,
        };
        (checks, receiver)
    }

    /// `check`: grants a probe of `transport` (`check_ready`), or says why not.
    pub fn start(
        &mut self,
        transport: CheckTransport,
        out: &Outbox,
        now: Instant,
    ) -> Result<(), ProtocolError> {
        let config = &self.state.config.check;
        let budget = &self.state.probes;
        if self.asked >= config.probes_per_connection {
            budget.refused_per_connection.add();
            return Err(refusal(ProbeRefusal::PerConnection, &self.state));
        }
        self.asked += 1;
        let probe = self.asked;
        let ice_servers = match transport {
            CheckTransport::Relay => match relay_servers(&self.state) {
                Some(servers) => servers,
                None => {
                    let _ = out.send(ServerMessage::CheckResult {
                        probe,
                        transport,
                        outcome: CheckOutcome::NotOffered,
                    });
                    return Ok(());
                }
            },
            CheckTransport::Udp | CheckTransport::Tcp => Vec::new(),
        };
        let slot = budget
            .take(self.peer)
            .map_err(|why| refusal(why, &self.state))?;
        self.probes.insert(
            probe,
            Probe {
                transport,
                deadline: now + config.probe_lifetime(),
                media: None,
                _slot: slot,
            },
        );
        tracing::debug!(probe, ?transport, "network check probe granted");
        let _ = out.send(ServerMessage::CheckReady {
            probe,
            transport,
            seconds: config.probe_secs,
            ice_servers,
        });
        Ok(())
    }

    /// Whether `probe` is granted and waits for its offer (checked before the SDP is parsed).
    pub fn awaiting_offer(&self, probe: u32) -> Result<(), ProtocolError> {
        match self.probes.get(&probe) {
            Some(p) if p.media.is_none() => Ok(()),
            _ => Err(ProtocolError::new(
                ErrorCode::NoSuchCheck,
                format!(
                    "no probe {probe} waits for an offer on this connection; send \"check\" first"
                ),
            )),
        }
    }

    /// `check_offer`: opens the probe's media session, alone in a room of its own, on a shard.
    pub fn offer(&mut self, probe: u32, offer: ClientOffer) -> Result<(), ProtocolError> {
        self.awaiting_offer(probe)?;
        let (room, participant) = self.state.rooms.ids_outside_classes();
        let media = &self.state.media;
        let index = self.state.probes.next_shard(media.shards().len());
        let shard = media.shard(index).ok_or_else(media_down)?;
        let events = self.events.clone();
        let join = Command::Join {
            room,
            participant,
            offer,
            sources: Vec::new(),
        };
        let sink = Box::new(move |event| {
            let _ = events.send((probe, event));
        });
        shard.send(join, Some(sink)).map_err(|_| media_down())?;
        if let Some(p) = self.probes.get_mut(&probe) {
            p.media = Some((index, participant));
        }
        Ok(())
    }

    /// What the shard said about a probe. Returns a refusal of its offer, for the client.
    pub fn on_event(&mut self, probe: u32, event: MediaEvent, out: &Outbox) -> Option<Rejection> {
        if !self.probes.contains_key(&probe) {
            // Ended already (its deadline passed as the event was on its way).
            return None;
        }
        match event {
            MediaEvent::Answer { sdp } => {
                let _ = out.send(ServerMessage::CheckAnswer { probe, sdp });
            }
            MediaEvent::Connected => self.end(probe, CheckOutcome::Connected, out),
            MediaEvent::Gone => self.end(probe, CheckOutcome::Failed, out),
            MediaEvent::Rejected(why) => {
                self.end(probe, CheckOutcome::Failed, out);
                return Some(why);
            }
            // Alone in its room, a probe is offered no track; nothing else concerns it.
            _ => {}
        }
        None
    }

    /// When the next probe's deadline is, if any probe is held.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.probes.values().map(|p| p.deadline).min()
    }

    /// When the last probe held ends at the latest (the connection is busy until then).
    pub fn busy_until(&self) -> Option<Instant> {
        self.probes.values().map(|p| p.deadline).max()
    }

    /// Ends every probe whose deadline is past (`timed_out`).
    pub fn expire(&mut self, now: Instant, out: &Outbox) {
        let due: Vec<u32> = self
            .probes
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for probe in due {
            self.end(probe, CheckOutcome::TimedOut, out);
        }
    }

    /// Frees `probe`, counts how it ended and tells the client.
    fn end(&mut self, probe: u32, outcome: CheckOutcome, out: &Outbox) {
        let Some(held) = self.probes.remove(&probe) else {
            return;
        };
        let budget = &self.state.probes;
        match outcome {
            CheckOutcome::Connected => budget.connected.add(),
            CheckOutcome::TimedOut => budget.timed_out.add(),
            CheckOutcome::Failed | CheckOutcome::NotOffered => budget.failed.add(),
        }
        tracing::debug!(probe, transport = ?held.transport, ?outcome, "network check probe ended");
        let _ = out.send(ServerMessage::CheckResult {
            probe,
            transport: held.transport,
            outcome,
        });
        self.leave(held);
    }

    /// Frees the probe's media session, if it has one (a `Gone` one is freed already; a second
    /// `Leave` is a no-op at the shard).
    fn leave(&self, probe: Probe) {
        if let Some((index, participant)) = probe.media {
            if let Some(shard) = self.state.media.shard(index) {
                let _ = shard.send(Command::Leave { participant }, None);
            }
        }
    }
}

impl Drop for Checks {
    fn drop(&mut self) {
        for (_, probe) in std::mem::take(&mut self.probes) {
            self.leave(probe);
        }
    }
}

/// The TURN servers a relay probe may use, with credentials of the probe's own lifetime;
/// `None` when this server has no TURN relay configured.
fn relay_servers(state: &AppState) -> Option<Vec<crate::protocol::IceServer>> {
    let lifetime = state.config.check.probe_lifetime();
    state.rooms.check_ice_servers(SystemTime::now(), lifetime)
}

/// The error for a refused probe.
fn refusal(why: ProbeRefusal, state: &AppState) -> ProtocolError {
    let config = &state.config.check;
    let message = match why {
        ProbeRefusal::PerAddress => format!(
            "your network already runs {} network checks at once; wait {} seconds and try again",
            config.probes_per_address, config.probe_secs
        ),
        ProbeRefusal::NodeFull => format!(
            "this server already runs {} network checks at once; wait {} seconds and try again",
            config.max_probes, config.probe_secs
        ),
        ProbeRefusal::PerConnection => format!(
            "one connection may run {} network checks; reload the page to check again",
            config.probes_per_connection
        ),
    };
    ProtocolError::new(ErrorCode::TooManyChecks, message)
}
