//! One participant in a Janus VideoRoom, as a Janus web client would be: a session with two
//! handles. On the first it joins the room as a publisher (with `joinandconfigure` and our offer
//! if it publishes, with a plain `join` if it only watches) and hears about publishers as they
//! appear; on the second it subscribes to every stream of every other publisher of its class
//! (multistream: one PeerConnection), answers Janus's offers and sends `start`.
//!
//! VideoRoom never publishes and subscribes on one PeerConnection, so a talker or a teacher has two
//! where the classroom server gives it one; both count in its stats.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;

use super::api::{Feed, Incoming, Jsep, Room, Session, Subscribed};
use super::sdp::loopback_candidates_only;
use crate::measure::{Kind, PeerStats};
use crate::peer::{Connection, Link, MLine, PeerPlan, RunContext};

/// Well under Janus's 60 s session timeout.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);

/// Runs one participant from its join to the end of the run; never fails, records instead.
pub async fn run(plan: PeerPlan, room: u64, janus: SocketAddr, ctx: Arc<RunContext>) -> PeerStats {
    let mut stats = PeerStats::new(&plan);
    stats.join_started = Instant::now();
    let opened = tokio::time::timeout_at(ctx.end.into(), open(&plan, room, janus, &ctx)).await;
    let Some(mut participant) = stats.joined(opened) else {
        return stats;
    };
    if let Err(e) = participant.follow(&mut stats).await {
        stats.errors.push(format!("{e:#}"));
    }
    let Participant {
        session,
        publishing,
        subscription,
        ..
    } = participant;
    let mut connected = Vec::new();
    for link in [publishing, subscription].into_iter().flatten() {
        if let Some(connection) = link.finish().await {
            connected.push(connection.connected);
            stats.absorb(connection);
        }
    }
    stats.connected = !connected.is_empty() && connected.iter().all(|c| *c);
    session.close(Duration::from_millis(500)).await;
    stats
}

struct Participant {
    plan: PeerPlan,
    ctx: Arc<RunContext>,
    room: u64,
    session: Session,
    /// The handle we joined the room with (and publish on, if we do).
    publisher: u64,
    /// The handle we subscribe on.
    subscriber: u64,
    /// Our id in the room, once joined.
    me: Option<u64>,
    publishing: Option<Link>,
    subscription: Option<Link>,
    /// Publishers announced and not yet asked for.
    waiting: BTreeSet<u64>,
    /// Publishers asked for.
    asked: BTreeSet<u64>,
    /// A `join`/`subscribe` is out and its offer not yet answered: Janus is asked for one change
    /// at a time.
    negotiating: bool,
}

/// Opens the session, attaches both handles and asks to join; returns before the answer.
async fn open(
    plan: &PeerPlan,
    room: u64,
    janus: SocketAddr,
    ctx: &Arc<RunContext>,
) -> anyhow::Result<Participant> {
    let mut session = Session::open(janus).await?;
    let publisher = session.attach().await?;
    let subscriber = session.attach().await?;
    let mut join = json!({
        "request": "join",
        "ptype": "publisher",
        "room": room,
        "display": plan.name,
    });
    let mut publishing = None;
    if plan.publish_audio || plan.publish_video {
        let line = |on: bool| if on { MLine::Send } else { MLine::Absent };
        let mut connection = Connection::new(plan).await?;
        let offer = connection.offer(
            line(plan.publish_audio),
            line(plan.publish_video),
            plan,
            ctx,
        )?;
        join["request"] = json!("joinandconfigure");
        session
            .message(publisher, join, Some(("offer", offer)))
            .await?;
        publishing = Some(connection.spawn(ctx.clone()));
    } else {
        session.message(publisher, join, None).await?;
    }
    Ok(Participant {
        plan: plan.clone(),
        ctx: ctx.clone(),
        room,
        session,
        publisher,
        subscriber,
        me: None,
        publishing,
        subscription: None,
        waiting: BTreeSet::new(),
        asked: BTreeSet::new(),
        negotiating: false,
    })
}

impl Participant {
    /// Acts on what Janus says until the run ends.
    async fn follow(&mut self, stats: &mut PeerStats) -> anyhow::Result<()> {
        let end = tokio::time::sleep_until(self.ctx.end.into());
        tokio::pin!(end);
        let mut keepalive = tokio::time::interval(KEEPALIVE_EVERY);
        keepalive.tick().await; // the first tick is immediate
        loop {
            let message = tokio::select! {
                message = self.session.recv() => message?,
                _ = keepalive.tick() => {
                    self.session.keepalive().await?;
                    continue;
                }
                _ = &mut end => return Ok(()),
            };
            match message {
                Some(Incoming::Event {
                    sender,
                    plugindata,
                    jsep,
                }) => {
                    let room = plugindata.map_or(Room::Other, |p| p.data);
                    if sender == self.publisher {
                        self.on_publisher_event(room, jsep, stats)?;
                    } else if sender == self.subscriber {
                        self.on_subscriber_event(room, jsep).await?;
                    }
                    self.subscribe_waiting().await?;
                }
                Some(Incoming::Hangup { sender, reason }) => bail!(
                    "Janus hung up our {} PeerConnection: {}",
                    self.which(sender),
                    reason.as_deref().unwrap_or("no reason given")
                ),
                Some(Incoming::Error { error, .. }) => {
                    bail!("Janus error {}: {}", error.code, error.reason)
                }
                Some(Incoming::Timeout {}) => bail!("Janus expired our session"),
                Some(
                    Incoming::Webrtcup {}
                    | Incoming::Success { .. }
                    | Incoming::Ack {}
                    | Incoming::Other,
                ) => {}
                None => bail!("Janus closed the WebSocket"),
            }
        }
    }

    fn on_publisher_event(
        &mut self,
        room: Room,
        jsep: Option<Jsep>,
        stats: &mut PeerStats,
    ) -> anyhow::Result<()> {
        match room {
            Room::Joined { id, publishers } => {
                self.me = Some(id);
                stats.id = Some(id.to_string());
                self.note_publishers(&publishers);
            }
            Room::Event {
                publishers,
                error_code: None,
                ..
            } => self.note_publishers(&publishers),
            Room::Event {
                error_code: Some(code),
                error,
                ..
            } => bail!(
                "VideoRoom refused to join room {}: {code} {}",
                self.room,
                error.unwrap_or_default()
            ),
            _ => {}
        }
        match (jsep, &self.publishing) {
            (Some(jsep), Some(link)) if jsep.kind == "answer" => {
                link.accept_answer(loopback_candidates_only(&jsep.sdp))
            }
            (Some(jsep), _) => bail!("Janus sent an unexpected {} to our publisher", jsep.kind),
            (None, _) => Ok(()),
        }
    }

    async fn on_subscriber_event(&mut self, room: Room, jsep: Option<Jsep>) -> anyhow::Result<()> {
        let streams = match room {
            Room::Attached { streams } | Room::Updated { streams } => streams,
            Room::Event {
                error_code: Some(code),
                error,
                ..
            } => bail!(
                "VideoRoom refused our subscription: {code} {}",
                error.unwrap_or_default()
            ),
            // `updating`: Janus queued our change and will send its offer later.
            _ => return Ok(()),
        };
        let Some(jsep) = jsep else {
            // The change needed no new SDP.
            self.negotiating = false;
            return Ok(());
        };
        if jsep.kind != "offer" {
            bail!("Janus sent an unexpected {} to our subscriber", jsep.kind);
        }
        let offer = loopback_candidates_only(&jsep.sdp);
        let answer = match &self.subscription {
            Some(link) => {
                for (mid, feed, kind) in tracks(&streams) {
                    link.add_track(mid, feed, kind)?;
                }
                link.answer(offer).await?
            }
            None => {
                let mut connection = Connection::new(&self.plan).await?;
                for (mid, feed, kind) in tracks(&streams) {
                    connection.add_track(&mid, feed, kind);
                }
                let answer = connection.answer(&offer)?;
                self.subscription = Some(connection.spawn(self.ctx.clone()));
                answer
            }
        };
        self.session
            .message(
                self.subscriber,
                json!({"request": "start"}),
                Some(("answer", answer)),
            )
            .await?;
        self.negotiating = false;
        Ok(())
    }

    /// Every other publisher with an enabled stream is to be subscribed to.
    fn note_publishers(&mut self, publishers: &[Feed]) {
        for feed in publishers {
            let publishes = feed
                .streams
                .iter()
                .any(|s| !s.disabled && (s.kind == "audio" || s.kind == "video"));
            if publishes && Some(feed.id) != self.me && !self.asked.contains(&feed.id) {
                self.waiting.insert(feed.id);
            }
        }
    }

    /// Asks for the publishers waiting, unless a change is already under way.
    async fn subscribe_waiting(&mut self) -> anyhow::Result<()> {
        if self.negotiating || self.waiting.is_empty() {
            return Ok(());
        }
        let feeds: Vec<u64> = std::mem::take(&mut self.waiting).into_iter().collect();
        let streams: Vec<_> = feeds.iter().map(|id| json!({"feed": id})).collect();
        let body = if self.asked.is_empty() {
            json!({"request": "join", "ptype": "subscriber", "room": self.room, "streams": streams})
        } else {
            json!({"request": "subscribe", "streams": streams})
        };
        self.asked.extend(feeds);
        self.negotiating = true;
        self.session.message(self.subscriber, body, None).await
    }

    fn which(&self, handle: u64) -> &'static str {
        if handle == self.publisher {
            "publishing"
        } else {
            "subscribing"
        }
    }
}

/// (our mid, publisher id, kind) of each audio or video stream of a subscription.
fn tracks(streams: &[Subscribed]) -> impl Iterator<Item = (String, String, Kind)> + '_ {
    streams.iter().filter_map(|s| {
        let kind = match s.kind.as_str() {
            "audio" => Kind::Audio,
            "video" => Kind::Video,
            _ => return None,
        };
        Some((s.mid.clone(), s.feed_id?.to_string(), kind))
    })
}
