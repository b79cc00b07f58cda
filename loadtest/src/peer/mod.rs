//! The synthetic participants' media side, shared by every target: who a participant is
//! ([`PeerPlan`]), what a run's participants share ([`RunContext`]), and their PeerConnections
//! ([`Connection`], driven through a [`Link`] once running). How a participant signals is the
//! target's business (`crate::target`).
//!
//! Many connections share one runtime: each is a task waiting on its socket, its control channel
//! and one timer.

use std::sync::Arc;
use std::time::Instant;

use anyhow::anyhow;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::measure::{Kind, PeerStats, Window};
use crate::media::{CameraLayer, OpusLoop};

mod arrival;
mod connection;
mod publish;
mod tcp;
mod wire;

use connection::Control;
pub use connection::{Connection, MLine};

/// Who a participant is and what it does.
#[derive(Debug, Clone)]
pub struct PeerPlan {
    pub class: usize,
    pub name: String,
    /// The class's teacher (the camera publisher), else a pupil.
    pub teacher: bool,
    pub publish_audio: bool,
    pub publish_video: bool,
    /// Its media goes over ICE-TCP (`--tcp-share`), not UDP.
    pub tcp: bool,
    pub join_at: Instant,
}

/// What every participant of a run shares.
#[derive(Debug)]
pub struct RunContext {
    pub opus: Arc<OpusLoop>,
    pub filler: Arc<[u8]>,
    /// The teacher's camera: its simulcast layers, lowest first (one without simulcast).
    pub camera: Vec<CameraLayer>,
    pub window: Window,
    /// When peers stop sending and leave.
    pub end: Instant,
}

/// The signalling side's handle on a running [`Connection`].
#[derive(Debug)]
pub struct Link {
    control: mpsc::UnboundedSender<Control>,
    task: JoinHandle<PeerStats>,
}

impl Link {
    /// Hands the connection the server's answer to its offer.
    pub fn accept_answer(&self, sdp: String) -> anyhow::Result<()> {
        self.send(Control::Answer(sdp))
    }

    /// Hands the connection an offer from the server; returns its answer.
    pub async fn answer(&self, sdp: String) -> anyhow::Result<String> {
        let (reply, answer) = oneshot::channel();
        self.send(Control::Offer(sdp, reply))?;
        answer
            .await
            .map_err(|_| anyhow!("the PeerConnection ended before answering"))?
            .map_err(|e| anyhow!(e))
    }

    /// Media arriving on `mid` is `publisher`'s `kind`.
    pub fn add_track(&self, mid: String, publisher: String, kind: Kind) -> anyhow::Result<()> {
        self.send(Control::Track {
            mid,
            publisher,
            kind,
        })
    }

    /// Stops the connection (if the run's end has not already) and returns what it measured.
    pub async fn finish(self) -> Option<PeerStats> {
        let Link { control, task } = self;
        drop(control);
        task.await.ok()
    }

    fn send(&self, control: Control) -> anyhow::Result<()> {
        self.control
            .send(control)
            .map_err(|_| anyhow!("the PeerConnection has ended"))
    }
}
