//! One participant's signalling with the classroom server: `join`, `welcome`, our offer (a mic and
//! a camera m-line, inactive unless published), the server's answer, then the server's offers and
//! `track_added` as others publish, until the run ends and it leaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::signalling::{ClassLinks, ClientMessage, ServerAddr, ServerMessage, Signalling};
use crate::measure::{Kind, PeerStats};
use crate::peer::{Connection, Link, MLine, PeerPlan, RunContext};

/// Runs one participant from its join to the end of the run; never fails, records instead.
pub async fn run(
    plan: PeerPlan,
    class: Arc<ClassLinks>,
    server: ServerAddr,
    ctx: Arc<RunContext>,
) -> PeerStats {
    let mut stats = PeerStats::new(&plan);
    stats.join_started = Instant::now();
    let joined = tokio::time::timeout_at(ctx.end.into(), join(&plan, &class, &server, &ctx)).await;
    let Some((mut signalling, link, id)) = stats.joined(joined) else {
        return stats;
    };
    stats.id = Some(id);
    if let Err(e) = follow(&mut signalling, &link, &mut stats, &ctx).await {
        stats.errors.push(format!("{e:#}"));
    }
    if let Some(connection) = link.finish().await {
        stats.connected = connection.connected;
        stats.absorb(connection);
    }
    signalling.leave(Duration::from_millis(500)).await;
    stats
}

/// Joins, sends our offer and starts the PeerConnection; returns our participant id.
async fn join(
    plan: &PeerPlan,
    class: &ClassLinks,
    server: &ServerAddr,
    ctx: &Arc<RunContext>,
) -> anyhow::Result<(Signalling, Link, String)> {
    let mut signalling = Signalling::connect(server).await?;
    let token = if plan.teacher {
        &class.teacher_token
    } else {
        &class.pupil_token
    };
    signalling
        .send(&ClientMessage::Join {
            version: 1,
            room: &class.room,
            token,
            name: &plan.name,
        })
        .await?;
    let id = loop {
        match signalling.recv().await? {
            Some(ServerMessage::Welcome { you }) => break you.id,
            Some(ServerMessage::Error { code, message }) => {
                bail!("join refused: {code}: {message}")
            }
            Some(_) => continue,
            None => bail!("the server closed the WebSocket before welcome"),
        }
    };
    let line = |on: bool| if on { MLine::Send } else { MLine::Inactive };
    let mut connection = Connection::new(plan).await?;
    let sdp = connection.offer(
        line(plan.publish_audio),
        line(plan.publish_video),
        plan,
        ctx,
    )?;
    signalling.send(&ClientMessage::Offer { sdp }).await?;
    Ok((signalling, connection.spawn(ctx.clone()), id))
}

/// Acts on the server's messages until the run ends.
async fn follow(
    signalling: &mut Signalling,
    link: &Link,
    stats: &mut PeerStats,
    ctx: &RunContext,
) -> anyhow::Result<()> {
    let end = tokio::time::sleep_until(ctx.end.into());
    tokio::pin!(end);
    loop {
        let message = tokio::select! {
            message = signalling.recv() => message?,
            _ = &mut end => return Ok(()),
        };
        match message {
            Some(ServerMessage::Answer { sdp }) => link.accept_answer(sdp)?,
            Some(ServerMessage::Offer { sdp }) => {
                let sdp = link.answer(sdp).await?;
                signalling.send(&ClientMessage::Answer { sdp }).await?;
            }
            Some(ServerMessage::TrackAdded {
                mid,
                participant,
                kind,
            }) => {
                let kind = if kind == "video" {
                    Kind::Video
                } else {
                    Kind::Audio
                };
                link.add_track(mid, participant, kind)?;
            }
            Some(ServerMessage::Error { code, message }) => {
                stats.errors.push(format!("server error {code}: {message}"));
            }
            Some(ServerMessage::Bye { reason }) => bail!("the server said bye ({reason})"),
            Some(ServerMessage::Welcome { .. } | ServerMessage::Other) => {}
            None => bail!("the server closed the WebSocket"),
        }
    }
}
