//! The media path: a publisher's RTP packet to every subscriber in the room.
//!
//! str0m runs in RTP mode: a packet arrives decrypted as `Event::RtpPacket` and is written to
//! each subscriber's send stream as it is (same payload, shared, not copied), with that stream's
//! own SSRC (str0m's), sequence number and timestamp ([`super::rewrite`]), VP8 picture numbers
//! ([`super::vp8`], a few bytes str0m patches as it serialises the packet), payload type (the
//! subscriber's number for the same codec) and simulcast layer choice ([`super::layers`]). str0m
//! encrypts it, keeps it for NACKs and answers them over RTX.
//!
//! Every packet that is not forwarded to a subscriber is counted under the reason why: the
//! per-packet and the per-subscriber steps return `Result<_, DropReason>` and return early.

use std::time::Instant;

use str0m::format::{detect_h264_keyframe, detect_h264_nalu, Codec, PayloadParams};
use str0m::media::{MediaKind, Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use str0m::Rtc;

use super::drops::DropReason;
use super::layers::{Decision, TrackLayers, MAX_LAYERS};
use super::participant::{Participant, Subscription};
use super::vp8::Vp8Numbers;
use super::{Output, ShardCore};
use crate::command::MediaEvent;
use crate::ids::{ParticipantId, RoomId};

/// Publisher payload types whose codec is remembered per track.
const MAX_CODECS_PER_TRACK: usize = 8;
/// H.264 sequence parameter set: sent right before an IDR, a decoder can start there.
const H264_SPS: u8 = 7;

/// What every subscriber's copy of one publisher packet shares, read once per packet.
struct Incoming {
    publisher: ParticipantId,
    room: RoomId,
    mid: Mid,
    /// The simulcast layer the packet belongs to.
    slot: usize,
    kind: MediaKind,
    generation: u32,
    layers: TrackLayers,
    pt: Pt,
    params: PayloadParams,
    keyframe: bool,
    seq: u64,
    time: u32,
    exts: ExtensionValues,
    /// The parsed descriptor and picture numbers of a VP8 packet that has a payload.
    vp8: Option<(Vp8Descriptor, Vp8Numbers)>,
    now: Instant,
}

impl ShardCore {
    /// Writes a publisher's RTP packet to every other member of its room that receives its track.
    pub(super) fn forward(&mut self, publisher: ParticipantId, packet: RtpPacket) {
        let incoming = match self.read_incoming(publisher, &packet) {
            Ok(Some(incoming)) => incoming,
            Ok(None) => return,
            Err(reason) => {
                self.counters.dropped.add(reason);
                return;
            }
        };
        if let Some(level) = incoming.exts.audio_level {
            let room = incoming.room;
            self.note_audio_level(room, publisher, level.unsigned_abs(), incoming.now);
        }
        let Some(members) = self.rooms.get(&incoming.room) else {
            return;
        };
        let mut fan_out = FanOut::default();
        for member in members {
            if *member == publisher {
                continue;
            }
            let Some(subscriber) = self.participants.get_mut(member) else {
                continue;
            };
            let Participant {
                subscriptions, rtc, ..
            } = subscriber;
            let Some(sub) = subscriptions.get_mut(&(publisher, incoming.mid)) else {
                continue;
            };
            match write_to_subscriber(&incoming, &packet, sub, rtc, &mut fan_out) {
                Ok(()) => {
                    self.counters.forwarded += 1;
                    if self.dirty_set.insert(*member) {
                        self.dirty.push_back(*member);
                    }
                }
                Err(reason) => self.counters.dropped.add(reason),
            }
        }
        self.counters.layer_switches_up += fan_out.switches_up;
        self.counters.layer_switches_down += fan_out.switches_down;
        for (slot, wanted) in fan_out.keyframes_wanted.into_iter().enumerate() {
            if wanted {
                self.request_keyframe(publisher, incoming.mid, slot);
            }
        }
    }

    /// What the packet is: its track, layer, codec and VP8 numbers. `Ok(None)`: the publisher
    /// has left (nothing to count); `Err`: the packet can reach no subscriber.
    fn read_incoming(
        &mut self,
        publisher: ParticipantId,
        packet: &RtpPacket,
    ) -> Result<Option<Incoming>, DropReason> {
        let Some(source) = self.participants.get_mut(&publisher) else {
            return Ok(None);
        };
        let (mid, rid) = source
            .locate_ssrc(packet.header.ssrc)
            .ok_or(DropReason::NoTrack)?;
        let track = source.published.get_mut(&mid).ok_or(DropReason::NoTrack)?;
        if !source.rights.allows(track.source) {
            return Err(DropReason::NoRight);
        }
        let Some(slot) = track.layers.slot(rid) else {
            tracing::trace!(%publisher, %mid, ?rid, "packet of a layer the track does not have");
            return Err(DropReason::LayerNotWanted);
        };
        track.layers.set_active(slot, true);
        track.rates[slot].add(packet.payload.len(), self.now);
        let pt = packet.header.payload_type;
        let known = track.codecs.iter().find(|(p, _)| *p == pt).map(|(_, c)| *c);
        let params = known.or_else(|| {
            let params = source.rtc.codec_config().params();
            let found = params.iter().find(|p| p.pt() == pt).copied()?;
            if track.codecs.len() >= MAX_CODECS_PER_TRACK {
                track.codecs.clear();
            }
            track.codecs.push((pt, found));
            Some(found)
        });
        let params = params.ok_or(DropReason::UnknownCodec)?;
        let codec = params.spec().codec;
        // Parsed once for every subscriber; a descriptor that does not parse would not decode.
        // Padding (an empty payload, what str0m leaves of a padding-only packet) has no
        // descriptor and goes on as before: it keeps its slot in the sequence.
        let vp8 = match codec {
            Codec::Vp8 if packet.payload.is_empty() => None,
            Codec::Vp8 => {
                let descriptor =
                    Vp8Descriptor::parse(&packet.payload).map_err(|_| DropReason::MalformedVp8)?;
                Some((descriptor, Vp8Numbers::read(&descriptor, &packet.payload)))
            }
            _ => None,
        };
        let keyframe = track.kind == MediaKind::Video
            && match &vp8 {
                Some((descriptor, _)) => descriptor.starts_keyframe(&packet.payload),
                None => starts_keyframe(codec, packet),
            };
        Ok(Some(Incoming {
            publisher,
            room: source.room,
            mid,
            slot,
            kind: track.kind,
            generation: track.generation,
            layers: track.layers.clone(),
            pt,
            params,
            keyframe,
            seq: *packet.seq_no,
            time: packet.header.timestamp,
            exts: carried_extensions(track.kind, &packet.header.ext_vals),
            vp8,
            now: self.now,
        }))
    }
}

/// What one packet's fan-out noted on the way, acted on once it is done.
#[derive(Debug, Default)]
struct FanOut {
    /// Layers a subscriber needs a keyframe of (one request per packet, not per subscriber).
    keyframes_wanted: [bool; MAX_LAYERS],
    /// Subscribers that moved to a higher or a lower layer with this packet.
    switches_up: u64,
    switches_down: u64,
}

/// Writes the packet to one subscription, or says why not.
fn write_to_subscriber(
    incoming: &Incoming,
    packet: &RtpPacket,
    sub: &mut Subscription,
    rtc: &mut Rtc,
    fan_out: &mut FanOut,
) -> Result<(), DropReason> {
    let out_mid = sub.open_mid().ok_or(DropReason::NotNegotiated)?;
    let out = &mut sub.out;
    if out.generation != incoming.generation {
        // Media resumed after an interruption: a new stream from the next (key)frame.
        out.generation = incoming.generation;
        out.layer.restart();
        out.rewriter.resync();
    }
    let mut switch = false;
    if incoming.kind == MediaKind::Video {
        let policy = out.policy().map_err(DropReason::from)?;
        let before = out.layer.current();
        let verdict = out.layer.decide(
            &policy,
            &incoming.layers,
            incoming.slot,
            incoming.keyframe,
            incoming.now,
        );
        if let Some(wanted) = verdict.ask_keyframe {
            fan_out.keyframes_wanted[wanted] = true;
        }
        match verdict.decision {
            Decision::Forward => {}
            Decision::Switch => {
                match before {
                    Some(from) if from < incoming.slot => fan_out.switches_up += 1,
                    Some(from) if from > incoming.slot => fan_out.switches_down += 1,
                    _ => {}
                }
                tracing::debug!(publisher = %incoming.publisher, mid = %incoming.mid, layer = incoming.slot, "layer switch");
                switch = true;
            }
            Decision::OtherLayer => return Err(DropReason::LayerNotWanted),
            Decision::AwaitKeyframe => return Err(DropReason::AwaitingKeyframe),
        }
    }
    let out_pt = out.map_pt(incoming.pt, || {
        let ours = rtc.codec_config().match_params(incoming.params)?.pt();
        let negotiated = rtc.media(out_mid)?.remote_pts().contains(&ours);
        negotiated.then_some(ours)
    });
    let Some(out_pt) = out_pt else {
        if !switch {
            out.rewriter.skip(incoming.seq);
        }
        return Err(DropReason::CodecMismatch);
    };
    let rewritten = if switch {
        out.rewriter
            .switch(incoming.seq, incoming.time, incoming.now)
    } else {
        out.rewriter
            .rewrite(incoming.seq, incoming.time, incoming.now)
            .map_err(|_| DropReason::Stale)?
    };
    if rewritten.new_source {
        out.vp8.start_source();
    }
    let vp8_patch = match &incoming.vp8 {
        // A publisher whose PictureIDs go back while its sequence numbers go on: the packet's
        // slot stays a hole (rare enough not to close it).
        Some((descriptor, numbers)) => out
            .vp8
            .rewrite(*numbers)
            .map_err(|_| DropReason::Stale)?
            .patch(descriptor),
        None => None,
    };
    let mut api = rtc.direct_api();
    let stream = out
        .ssrc
        .and_then(|ssrc| api.stream_tx(&ssrc))
        .ok_or(DropReason::WriteFailed)?;
    let write = RtpWrite::new(
        out_pt,
        rewritten.seq.into(),
        rewritten.time,
        packet.timestamp,
        packet.payload.clone(),
    )
    .marker(packet.header.marker)
    .nackable(incoming.kind == MediaKind::Video)
    .ext_vals(incoming.exts.clone());
    let write = match vp8_patch {
        Some(patch) => write.vp8_patch(patch),
        None => write,
    };
    stream.write_rtp(write);
    Ok(())
}

impl ShardCore {
    /// Feeds the room's speaker detector; tells every member when the active speaker changes.
    fn note_audio_level(
        &mut self,
        room: RoomId,
        publisher: ParticipantId,
        level: u8,
        now: Instant,
    ) {
        let detector = self.speakers.entry(room).or_default();
        detector.feed(publisher, level, now);
        let Some(speaker) = detector.poll(now) else {
            return;
        };
        let Some(members) = self.rooms.get(&room) else {
            return;
        };
        for member in members {
            let event = MediaEvent::ActiveSpeaker {
                participant: speaker,
            };
            self.outputs.push_back(Output::Event(*member, event));
        }
    }
}

/// Whether the packet starts a frame a decoder can start at (VP8 asks its parsed descriptor).
fn starts_keyframe(codec: Codec, packet: &RtpPacket) -> bool {
    match codec {
        Codec::H264 => {
            detect_h264_nalu(&packet.payload, H264_SPS) || detect_h264_keyframe(&packet.payload)
        }
        _ => false,
    }
}

/// The header extensions passed on to subscribers, those that describe the media end to end (see
/// `codecs.rs` for which are negotiated and why): audio level (for their own speaker display),
/// the capture time, and for video the orientation (a phone held upright), playout delay, content
/// type (screen share) and timing. The rest are per hop (abs-send-time, transport-cc, which str0m
/// writes for its own hop) or describe the publisher's stream (mid, rid), not the subscriber's.
fn carried_extensions(kind: MediaKind, incoming: &ExtensionValues) -> ExtensionValues {
    let mut exts = ExtensionValues {
        abs_capture_time: incoming.abs_capture_time,
        ..ExtensionValues::default()
    };
    match kind {
        MediaKind::Audio => {
            exts.audio_level = incoming.audio_level;
            exts.voice_activity = incoming.voice_activity;
        }
        MediaKind::Video => {
            exts.video_orientation = incoming.video_orientation;
            exts.play_delay_min = incoming.play_delay_min;
            exts.play_delay_max = incoming.play_delay_max;
            exts.video_content_type = incoming.video_content_type;
            exts.video_timing = incoming.video_timing;
        }
    }
    exts
}
