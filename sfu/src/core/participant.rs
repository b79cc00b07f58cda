//! One participant's WebRTC session inside a shard: what it publishes, what it receives, and the
//! server side of its SDP negotiation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::PayloadParams;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use str0m::Rtc;

use super::allocation::{Allocation, Allowance, Bps, PauseReason};
use super::keyframe::{KeyframeGate, KEYFRAME_REQUEST_INTERVAL};
use super::layers::{Layer, LayerSelector, TrackLayers, UpTo, MAX_LAYERS};
use super::rate::RateMeter;
use super::rewrite::Rewriter;
use super::sdp_candidates::describe_every_candidate;
use super::vp8::Vp8Rewriter;
use crate::command::{MediaEvent, PublishRights, TrackKind, TrackSource};
use crate::ids::{ParticipantId, RoomId};

/// A track as its publisher sent it: the publisher and the m-line it arrives on.
pub(crate) type SourceTrack = (ParticipantId, Mid);

/// Incoming SSRCs remembered per participant (a track's layers and their repair streams); the
/// cache is emptied when a peer keeps changing SSRCs, so it stays small.
const MAX_KNOWN_SSRCS: usize = 16;
/// Payload type mappings remembered per subscription (a track uses one codec at a time).
const MAX_PT_MAPPINGS: usize = 8;
/// Video packets kept per subscriber stream for answering NACKs (str0m's default), and for how
/// long.
const VIDEO_RESEND_PACKETS: usize = 1_000;
const RESEND_AGE: Duration = Duration::from_secs(3);
/// Most of a subscriber's video bytes that may be resends: str0m's default (15 %) stops repairing
/// a pupil's link from about 13 % loss, where repair matters most; 40 % still keeps a subscriber
/// that NACKs everything from tripling its own downlink.
const RESEND_RATIO_CAP: Option<f32> = Some(0.4);

/// A track this participant sends to the shard.
#[derive(Debug)]
pub(crate) struct PublishedTrack {
    pub kind: MediaKind,
    pub source: TrackSource,
    /// Simulcast layers (one, without simulcast).
    pub layers: TrackLayers,
    /// Keyframe request throttle, per layer.
    pub keyframes: [KeyframeGate; MAX_LAYERS],
    /// The publisher's codec parameters by payload type, as met on its packets.
    pub codecs: Vec<(Pt, PayloadParams)>,
    /// How fast each layer arrives (what forwarding it costs a subscriber's downlink).
    pub rates: [RateMeter; MAX_LAYERS],
    /// Moves on when forwarding resumes after an interruption (a publishing right given back):
    /// each subscription that sees a new generation restarts its stream.
    pub generation: u32,
}

impl PublishedTrack {
    pub fn new(kind: MediaKind, source: TrackSource, layers: TrackLayers) -> Self {
        PublishedTrack {
            kind,
            source,
            layers,
            keyframes: std::array::from_fn(|_| KeyframeGate::new(KEYFRAME_REQUEST_INTERVAL)),
            codecs: Vec::new(),
            rates: [RateMeter::default(); MAX_LAYERS],
            generation: 0,
        }
    }
}

/// Where the m-line that carries one remote track to this participant stands in negotiation.
///
/// m-lines are never stopped: str0m's offers cannot recycle a stopped slot, so a class with
/// pupils coming and going would grow its SDP without bound. A track that ends makes its m-line
/// `inactive` and idle; the next track of the same kind takes it back (`sendonly` again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutState {
    /// Wants an m-line in the next offer.
    ToOpen,
    /// Offered on `Mid`, answer awaited.
    Negotiating(Mid),
    /// Negotiated: media is written to `Mid`.
    Open(Mid),
    /// Its publisher left: the m-line goes inactive in the next offer.
    ToRelease(Mid),
    /// Inactive offered, answer awaited; then the m-line is idle.
    Releasing(Mid),
}

/// The outgoing RTP stream of one subscription: str0m's send stream on the m-line, and how the
/// publisher's packets are renumbered and relabelled for it.
#[derive(Debug)]
pub(crate) struct OutStream {
    /// The send stream's SSRC, once the m-line is open.
    pub ssrc: Option<Ssrc>,
    pub rewriter: Rewriter,
    /// VP8 picture numbers (PictureID, TL0PICIDX, KEYIDX), continued across sources like the
    /// sequence numbers.
    pub vp8: Vp8Rewriter,
    /// Publisher payload type → ours (`None`: the subscriber has no matching codec).
    pub pts: Vec<(Pt, Option<Pt>)>,
    /// The simulcast layer forwarded (video only).
    pub layer: LayerSelector,
    /// What the subscriber's downlink allows of it (video only).
    pub allocation: Allocation,
    /// The track generation last seen, see [`PublishedTrack::generation`].
    pub generation: u32,
}

impl OutStream {
    fn new(kind: MediaKind, preferred: Layer) -> Self {
        let clock_rate = match kind {
            MediaKind::Audio => 48_000,
            MediaKind::Video => 90_000,
        };
        OutStream {
            ssrc: None,
            rewriter: Rewriter::new(clock_rate),
            vp8: Vp8Rewriter::default(),
            pts: Vec::new(),
            layer: LayerSelector::new(preferred),
            allocation: Allocation::default(),
            generation: 0,
        }
    }

    /// The layer policy within the downlink's allowance, or why the video is paused.
    pub fn policy(&self) -> Result<UpTo, PauseReason> {
        match self.allocation.allowance {
            Allowance::UpTo(slot) => Ok(UpTo(slot)),
            Allowance::Paused(reason) => Err(reason),
        }
    }

    /// Our payload type for the publisher's `pt`, working it out on first use.
    pub fn map_pt(&mut self, pt: Pt, resolve: impl FnOnce() -> Option<Pt>) -> Option<Pt> {
        if let Some((_, out)) = self.pts.iter().find(|(p, _)| *p == pt) {
            return *out;
        }
        let out = resolve();
        if self.pts.len() >= MAX_PT_MAPPINGS {
            self.pts.clear();
        }
        self.pts.push((pt, out));
        out
    }
}

/// A negotiated m-line that carries nothing now, and the numbering of the stream it carried.
#[derive(Debug)]
pub(crate) struct IdleMline {
    pub kind: MediaKind,
    pub mid: Mid,
    pub rewriter: Rewriter,
    pub vp8: Vp8Rewriter,
}

/// A remote track this participant receives.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub kind: MediaKind,
    pub source: TrackSource,
    pub state: OutState,
    /// The publisher left while the m-line was being offered: release it once the answer is in.
    pub orphaned: bool,
    /// The track was published again while its m-line was being released: open it again once
    /// the release is answered.
    pub reopen: bool,
    pub out: OutStream,
}

impl Subscription {
    pub fn open_mid(&self) -> Option<Mid> {
        match self.state {
            OutState::Open(mid) => Some(mid),
            _ => None,
        }
    }
}

/// A participant's session in the shard.
#[derive(Debug)]
pub(crate) struct Participant {
    pub room: RoomId,
    pub rtc: Rtc,
    /// When str0m next wants `Input::Timeout`.
    pub next_timeout: Instant,
    pub published: HashMap<Mid, PublishedTrack>,
    pub subscriptions: HashMap<SourceTrack, Subscription>,
    /// Negotiated, inactive m-lines waiting for the next remote track of their kind, with the
    /// numbering of the stream they carried (which the next track continues).
    pub idle: Vec<IdleMline>,
    pub pending_offer: Option<SdpPendingOffer>,
    pub connected: bool,
    /// Until its first connection: when the session is given up. str0m as ICE-lite never gives
    /// up on a peer that never sends a STUN check, so without this a browser that got its answer
    /// and went away would hold the session (and its room and demux entries) for good.
    pub connect_by: Option<Instant>,
    /// What it may publish now.
    pub rights: PublishRights,
    /// What the client said its m-lines carry.
    pub declared: Vec<(Mid, TrackSource)>,
    /// The quality it wants of each publisher's video.
    pub preferred_layers: HashMap<ParticipantId, Layer>,
    /// What its downlink can take, as str0m's bandwidth estimation says (`None`: no estimate,
    /// e.g. a peer that gives no transport-wide feedback; nothing is held back then).
    pub downlink: Option<Bps>,
    /// The rate last asked of str0m's estimator to probe for: what this participant's wishes need.
    pub desired: Bps,
    /// Incoming SSRC → the m-line and simulcast layer it belongs to.
    known_ssrcs: Vec<(Ssrc, Mid, Option<Rid>)>,
    /// Some subscription wants an m-line opened or released in the next offer.
    wants_offer: bool,
}

impl Participant {
    pub fn new(room: RoomId, rtc: Rtc, now: Instant, connect_timeout: Duration) -> Self {
        Participant {
            room,
            rtc,
            next_timeout: now,
            published: HashMap::new(),
            subscriptions: HashMap::new(),
            idle: Vec::new(),
            pending_offer: None,
            connected: false,
            connect_by: Some(now + connect_timeout),
            rights: PublishRights::ALL,
            declared: Vec::new(),
            preferred_layers: HashMap::new(),
            downlink: None,
            desired: 0,
            known_ssrcs: Vec::new(),
            wants_offer: false,
        }
    }

    /// The declared source of m-line `mid`, or the default for its kind.
    pub fn source_of_mid(&self, mid: Mid, kind: MediaKind) -> TrackSource {
        let declared = self.declared.iter().find(|(m, _)| *m == mid);
        declared.map_or(TrackSource::undeclared(track_kind(kind)), |(_, s)| *s)
    }

    /// The m-line and simulcast layer of an incoming SSRC (asked of str0m once per SSRC).
    pub fn locate_ssrc(&mut self, ssrc: Ssrc) -> Option<(Mid, Option<Rid>)> {
        if let Some((_, mid, rid)) = self.known_ssrcs.iter().find(|(s, _, _)| *s == ssrc) {
            return Some((*mid, *rid));
        }
        let mut api = self.rtc.direct_api();
        let stream = api.stream_rx(&ssrc)?;
        let (mid, rid) = (stream.mid(), stream.rid());
        if self.known_ssrcs.len() >= MAX_KNOWN_SSRCS {
            self.known_ssrcs.clear();
        }
        self.known_ssrcs.push((ssrc, mid, rid));
        Some((mid, rid))
    }

    /// Starts receiving `source` (another participant's track), or keeps receiving it if it was
    /// unpublished and published again before its m-line was released (camera off and on).
    pub fn subscribe(&mut self, source: SourceTrack, kind: MediaKind, from: TrackSource) {
        let Some(sub) = self.subscriptions.get_mut(&source) else {
            let preferred = self.preferred_layers.get(&source.0);
            let out = OutStream::new(kind, preferred.copied().unwrap_or(Layer::High));
            self.subscriptions.insert(
                source,
                Subscription {
                    kind,
                    source: from,
                    state: OutState::ToOpen,
                    orphaned: false,
                    reopen: false,
                    out,
                },
            );
            self.wants_offer = true;
            return;
        };
        match sub.state {
            // Not offered as inactive yet: the m-line simply stays open.
            OutState::ToRelease(mid) => sub.state = OutState::Open(mid),
            OutState::Releasing(_) => sub.reopen = true,
            OutState::Negotiating(_) => sub.orphaned = false,
            OutState::ToOpen | OutState::Open(_) => {}
        }
    }

    /// Stops receiving every track of `publisher`, who left.
    pub fn unsubscribe_all_of(&mut self, publisher: ParticipantId) {
        self.preferred_layers.remove(&publisher);
        self.unsubscribe(|(from, _)| *from == publisher);
    }

    /// Stops receiving one track, which its publisher stopped sending.
    pub fn unsubscribe_track(&mut self, source: SourceTrack) {
        self.unsubscribe(|s| *s == source);
    }

    fn unsubscribe(&mut self, ends: impl Fn(&SourceTrack) -> bool) {
        let mut wants_offer = false;
        self.subscriptions.retain(|source, sub| {
            if !ends(source) {
                return true;
            }
            sub.reopen = false;
            match sub.state {
                OutState::ToOpen => return false,
                OutState::Negotiating(_) => sub.orphaned = true,
                OutState::Open(mid) => {
                    sub.state = OutState::ToRelease(mid);
                    wants_offer = true;
                }
                OutState::ToRelease(_) | OutState::Releasing(_) => {}
            }
            true
        });
        self.wants_offer |= wants_offer;
    }

    /// The source track whose media goes out on `mid`.
    pub fn source_of(&self, mid: Mid) -> Option<SourceTrack> {
        self.subscriptions
            .iter()
            .find(|(_, sub)| sub.open_mid() == Some(mid))
            .map(|(source, _)| *source)
    }

    /// Whether an offer should be made now: some m-line wants opening or releasing and no offer
    /// is outstanding. A flag, not a scan: it is asked after every drive of the session.
    pub fn needs_negotiation(&self) -> bool {
        self.wants_offer && self.pending_offer.is_none()
    }

    /// If the m-lines to other participants' tracks changed and no offer is outstanding, makes the
    /// next offer. Returns the events for the control plane: `TrackAdded`/`TrackRemoved` first,
    /// then the `Offer` that carries them.
    pub fn negotiate(&mut self) -> Vec<MediaEvent> {
        let mut events = Vec::new();
        if self.pending_offer.is_some() {
            return events;
        }
        self.wants_offer = false;
        let mut change = self.rtc.sdp_api();
        for ((publisher, _), sub) in self.subscriptions.iter_mut() {
            match sub.state {
                OutState::ToOpen => {
                    let reuse = self.idle.iter().position(|idle| idle.kind == sub.kind);
                    let mid = match reuse {
                        Some(index) => {
                            let IdleMline {
                                mid, rewriter, vp8, ..
                            } = self.idle.swap_remove(index);
                            // The m-line's stream goes on with another source.
                            sub.out.rewriter = rewriter;
                            sub.out.rewriter.resync();
                            sub.out.vp8 = vp8;
                            change.set_direction(mid, Direction::SendOnly);
                            mid
                        }
                        None => change.add_media(
                            sub.kind,
                            Direction::SendOnly,
                            Some(publisher.to_string()),
                            None,
                            None,
                        ),
                    };
                    sub.state = OutState::Negotiating(mid);
                    events.push(MediaEvent::TrackAdded {
                        mid: mid.to_string(),
                        publisher: *publisher,
                        kind: track_kind(sub.kind),
                        source: sub.source,
                    });
                }
                OutState::ToRelease(mid) => {
                    change.set_direction(mid, Direction::Inactive);
                    sub.state = OutState::Releasing(mid);
                    events.push(MediaEvent::TrackRemoved {
                        mid: mid.to_string(),
                    });
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return events;
        }
        if let Some((offer, pending)) = change.apply() {
            self.pending_offer = Some(pending);
            events.push(MediaEvent::Offer {
                sdp: describe_every_candidate(&offer.to_sdp_string()),
            });
        }
        events
    }

    /// The client accepted the outstanding offer. Moves every m-line on; returns the tracks that
    /// just opened.
    pub fn settle_offer(&mut self) -> Vec<SourceTrack> {
        let mut opened = Vec::new();
        let mut released = Vec::new();
        let mut wants_offer = false;
        let rtc = &mut self.rtc;
        self.subscriptions.retain(|source, sub| {
            match sub.state {
                OutState::Negotiating(mid) if sub.orphaned => {
                    sub.state = OutState::ToRelease(mid);
                    wants_offer = true;
                }
                OutState::Negotiating(mid) => {
                    sub.state = OutState::Open(mid);
                    let mut api = rtc.direct_api();
                    let stream = api.stream_tx_by_mid(mid, None);
                    sub.out.ssrc = stream.map(|stream| {
                        if sub.kind == MediaKind::Video {
                            stream.set_rtx_cache(
                                VIDEO_RESEND_PACKETS,
                                RESEND_AGE,
                                RESEND_RATIO_CAP,
                            );
                        }
                        stream.ssrc()
                    });
                    opened.push(*source);
                }
                OutState::Releasing(mid) => {
                    released.push(IdleMline {
                        kind: sub.kind,
                        mid,
                        rewriter: std::mem::replace(&mut sub.out.rewriter, Rewriter::new(1)),
                        vp8: std::mem::take(&mut sub.out.vp8),
                    });
                    if !std::mem::take(&mut sub.reopen) {
                        return false;
                    }
                    // Published again meanwhile: it takes an idle m-line in the next offer.
                    sub.state = OutState::ToOpen;
                    sub.out = OutStream::new(sub.kind, sub.out.layer.preferred);
                    wants_offer = true;
                }
                _ => {}
            }
            true
        });
        self.idle.extend(released);
        self.wants_offer |= wants_offer;
        opened
    }
}

/// The control plane's name for a str0m media kind.
pub(crate) fn track_kind(kind: MediaKind) -> TrackKind {
    match kind {
        MediaKind::Audio => TrackKind::Audio,
        MediaKind::Video => TrackKind::Video,
    }
}
