//! The media path: a publisher's RTP packet to every subscriber in the room.
//!
//! str0m runs in RTP mode: a packet arrives decrypted as `Event::RtpPacket` and is written to
//! each subscriber's send stream as it is (same payload, shared, not copied), with that stream's
//! own SSRC (str0m's), sequence number and timestamp ([`super::rewrite`]), payload type (the
//! subscriber's number for the same codec) and simulcast layer choice ([`super::layers`]). str0m
//! encrypts it, keeps it for NACKs and answers them over RTX.
//!
//! Every packet that is not forwarded to a subscriber is counted under the reason why.

use str0m::format::{detect_h264_keyframe, detect_h264_nalu, detect_vp8_keyframe, Codec};
use str0m::media::MediaKind;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};

use super::layers::{AtMostPreferred, Decision, MAX_LAYERS};
use std::time::Instant;

use super::participant::Participant;
use super::{Output, ShardCore};
use crate::command::MediaEvent;
use crate::ids::{ParticipantId, RoomId};

/// Publisher payload types whose codec is remembered per track.
const MAX_CODECS_PER_TRACK: usize = 8;
/// H.264 sequence parameter set: sent right before an IDR, a decoder can start there.
const H264_SPS: u8 = 7;

impl ShardCore {
    /// Writes a publisher's RTP packet to every other member of its room that receives its track.
    pub(super) fn forward(&mut self, publisher: ParticipantId, packet: RtpPacket) {
        let now = self.now;
        let Some(source) = self.participants.get_mut(&publisher) else {
            return;
        };
        let Some((mid, rid)) = source.locate_ssrc(packet.header.ssrc) else {
            self.counters.dropped_no_track += 1;
            return;
        };
        let room = source.room;
        let Some(track) = source.published.get_mut(&mid) else {
            self.counters.dropped_no_track += 1;
            return;
        };
        if !source.rights.allows(track.source) {
            self.counters.dropped_not_allowed += 1;
            return;
        }
        let Some(slot) = track.layers.slot(rid) else {
            tracing::trace!(%publisher, %mid, ?rid, "packet of a layer the track does not have");
            self.counters.dropped_unselected_layer += 1;
            return;
        };
        track.layers.set_active(slot, true);
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
        let Some(params) = params else {
            self.counters.dropped_codec_mismatch += 1;
            return;
        };
        let kind = track.kind;
        let generation = track.generation;
        let layers = track.layers.clone();
        let keyframe = kind == MediaKind::Video && starts_keyframe(params.spec().codec, &packet);
        let seq = *packet.seq_no;
        let time = packet.header.timestamp;
        let exts = carried_extensions(kind, &packet.header.ext_vals);
        if let Some(level) = exts.audio_level {
            self.note_audio_level(room, publisher, level.unsigned_abs(), now);
        }
        let Some(members) = self.rooms.get(&room) else {
            return;
        };
        let mut keyframes_wanted = [false; MAX_LAYERS];
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
            let Some(sub) = subscriptions.get_mut(&(publisher, mid)) else {
                continue;
            };
            let Some(out_mid) = sub.open_mid() else {
                self.counters.dropped_not_negotiated += 1;
                continue;
            };
            let out = &mut sub.out;
            if out.generation != generation {
                // Media resumed after an interruption: a new stream from the next (key)frame.
                out.generation = generation;
                out.layer.restart();
                out.rewriter.resync();
            }
            let mut switch = false;
            if kind == MediaKind::Video {
                let verdict = out
                    .layer
                    .decide(&AtMostPreferred, &layers, slot, keyframe, now);
                if let Some(wanted) = verdict.ask_keyframe {
                    keyframes_wanted[wanted] = true;
                }
                match verdict.decision {
                    Decision::Forward => {}
                    Decision::Switch => {
                        tracing::debug!(subscriber = %member, %publisher, %mid, layer = slot, "layer switch");
                        switch = true;
                    }
                    Decision::OtherLayer => {
                        self.counters.dropped_unselected_layer += 1;
                        continue;
                    }
                    Decision::AwaitKeyframe => {
                        self.counters.dropped_awaiting_keyframe += 1;
                        continue;
                    }
                }
            }
            let out_pt = out.map_pt(pt, || {
                let ours = rtc.codec_config().match_params(params)?.pt();
                let negotiated = rtc.media(out_mid)?.remote_pts().contains(&ours);
                negotiated.then_some(ours)
            });
            let Some(out_pt) = out_pt else {
                if !switch {
                    out.rewriter.skip(seq);
                }
                self.counters.dropped_codec_mismatch += 1;
                continue;
            };
            let rewritten = if switch {
                Ok(out.rewriter.switch(seq, time, now))
            } else {
                out.rewriter.rewrite(seq, time, now)
            };
            let Ok(rewritten) = rewritten else {
                self.counters.dropped_stale += 1;
                continue;
            };
            let mut api = rtc.direct_api();
            let Some(stream) = out.ssrc.and_then(|ssrc| api.stream_tx(&ssrc)) else {
                self.counters.dropped_write_failed += 1;
                continue;
            };
            let write = RtpWrite::new(
                out_pt,
                rewritten.seq.into(),
                rewritten.time,
                packet.timestamp,
                packet.payload.clone(),
            )
            .marker(packet.header.marker)
            .nackable(kind == MediaKind::Video)
            .ext_vals(exts.clone());
            stream.write_rtp(write);
            self.counters.forwarded += 1;
            if self.dirty_set.insert(*member) {
                self.dirty.push_back(*member);
            }
        }
        for (slot, wanted) in keyframes_wanted.into_iter().enumerate() {
            if wanted {
                self.request_keyframe(publisher, mid, slot);
            }
        }
    }
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

/// Whether the packet starts a frame a decoder can start at.
fn starts_keyframe(codec: Codec, packet: &RtpPacket) -> bool {
    match codec {
        Codec::Vp8 => detect_vp8_keyframe(&packet.payload),
        Codec::H264 => {
            detect_h264_nalu(&packet.payload, H264_SPS) || detect_h264_keyframe(&packet.payload)
        }
        _ => false,
    }
}

/// The header extensions passed on to subscribers: audio level (for their own speaker display)
/// and video orientation (a phone held upright). The rest are per hop and str0m writes its own.
fn carried_extensions(kind: MediaKind, incoming: &ExtensionValues) -> ExtensionValues {
    let mut exts = ExtensionValues::default();
    match kind {
        MediaKind::Audio => {
            exts.audio_level = incoming.audio_level;
            exts.voice_activity = incoming.voice_activity;
        }
        MediaKind::Video => exts.video_orientation = incoming.video_orientation,
    }
    exts
}
