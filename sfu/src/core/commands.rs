//! The control plane's commands: joining, (re)negotiating, leaving, publishing rights and layer
//! preferences.

use rand::distr::{Alphanumeric, SampleString};
use str0m::media::{MediaKind, Mid};
use str0m::net::TcpType;
use str0m::{Candidate, IceCreds};

use super::downlink::INITIAL_ESTIMATE;
use super::participant::Participant;
use super::sdp_candidates::describe_every_candidate;
use super::{codecs, HostCandidates, Output, ShardCore};
use crate::command::{
    ClientAnswer, ClientOffer, Command, Layer, MediaEvent, PublishRights, Rejection, SdpProblem,
    TrackSource,
};
use crate::ids::{ParticipantId, RoomId};

/// Most m-lines a client may declare a source for (a session has a handful).
const MAX_DECLARED_SOURCES: usize = 16;

impl ShardCore {
    pub(super) fn on_command(&mut self, command: Command) {
        match command {
            Command::Join {
                room,
                participant,
                offer,
                sources,
            } => self.join(room, participant, offer, &sources),
            Command::Offer {
                participant,
                offer,
                sources,
            } => self.renegotiate(participant, offer, &sources),
            Command::Answer {
                participant,
                answer,
            } => self.accept_answer(participant, answer),
            Command::Leave { participant } => self.remove(participant, false),
            Command::SetRights {
                participant,
                rights,
            } => self.set_rights(participant, rights),
            Command::SetPreferredLayer {
                subscriber,
                publisher,
                layer,
            } => self.set_preferred_layer(subscriber, publisher, layer),
            Command::RepeatPauses { participant } => self.repeat_pauses(participant),
        }
    }

    fn reject(&mut self, id: ParticipantId, why: Rejection) {
        self.outputs
            .push_back(Output::Event(id, MediaEvent::Rejected(why)));
    }

    fn join(
        &mut self,
        room: RoomId,
        id: ParticipantId,
        offer: ClientOffer,
        sources: &[(String, TrackSource)],
    ) {
        if self.participants.contains_key(&id) {
            return self.reject(id, Rejection::AlreadyJoined);
        }
        let ufrag = self.fresh_ufrag();
        let pass = Alphanumeric.sample_string(&mut rand::rng(), 24);
        let creds = IceCreds {
            ufrag: ufrag.clone(),
            pass: pass.clone(),
        };
        let estimate = self.downlink_estimation.then_some(INITIAL_ESTIMATE);
        let mut config = codecs::rtc_config()
            .enable_bwe(estimate)
            .set_ice_lite(true)
            .set_local_ice_credentials(creds);
        if let Some(cert) = &self.dtls_cert {
            config = config.set_dtls_cert(cert.clone());
        }
        let mut rtc = config.build(self.now);
        let candidates: Vec<_> = host_candidates(&self.candidates).collect();
        for candidate in candidates {
            match candidate {
                Ok(candidate) => {
                    rtc.add_local_candidate(candidate);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the configured public address is not a usable ICE candidate");
                    return self.reject(id, Rejection::NoServerAddress);
                }
            }
        }
        let answer = match rtc.sdp_api().accept_offer(offer.into_inner()) {
            Ok(answer) => answer,
            Err(e) => return self.refuse_offer(id, &e),
        };
        self.demux.insert_ufrag(&ufrag, &pass, id);
        let mut participant = Participant::new(room, rtc, self.now, self.connect_timeout);
        participant.declared = declared_sources(sources);
        let members = self.rooms.entry(room).or_default();
        for other in members.iter() {
            if let Some(publisher) = self.participants.get(other) {
                for (mid, track) in &publisher.published {
                    participant.subscribe((*other, *mid), track.kind, track.source);
                }
            }
        }
        members.push(id);
        self.participants.insert(id, participant);
        self.outputs.push_back(Output::Event(
            id,
            MediaEvent::Answer {
                sdp: describe_every_candidate(&answer.to_sdp_string()),
            },
        ));
        // Speaker changes are only announced when they happen: a newcomer learns the current
        // one now, or would see nobody highlighted until the floor passes.
        if let Some(speaker) = self.speakers.get(&room).and_then(|d| d.current()) {
            let event = MediaEvent::ActiveSpeaker {
                participant: speaker,
            };
            self.outputs.push_back(Output::Event(id, event));
        }
        tracing::debug!(participant = %id, %room, "joined media session");
        self.mark_dirty(id);
    }

    fn renegotiate(
        &mut self,
        id: ParticipantId,
        offer: ClientOffer,
        sources: &[(String, TrackSource)],
    ) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return self.reject(id, Rejection::NotJoined);
        };
        if participant.pending_offer.is_some() {
            return self.reject(id, Rejection::RenegotiationBusy);
        }
        match participant.rtc.sdp_api().accept_offer(offer.into_inner()) {
            Ok(answer) => {
                // An offer with new ICE credentials restarts ICE, and str0m (as an ICE-lite
                // answerer) then picks new local credentials of its own: the demux must route
                // STUN under the new ufrag, or the restart can never complete.
                let creds = participant.rtc.direct_api().local_ice_credentials();
                self.demux.replace_ufrag(&creds.ufrag, &creds.pass, id);
                participant.declared = declared_sources(sources);
                // A track already published may have been declared anew (camera → screen).
                for (mid, track) in participant.published.iter_mut() {
                    let source = participant.declared.iter().find(|(m, _)| m == mid);
                    if let Some((_, source)) = source {
                        track.source = *source;
                    }
                }
                let sdp = describe_every_candidate(&answer.to_sdp_string());
                self.outputs
                    .push_back(Output::Event(id, MediaEvent::Answer { sdp }));
                self.mark_dirty(id);
            }
            Err(e) => self.refuse_offer(id, &e),
        }
    }

    /// str0m's reason goes to the debug log only: its text is internals, no help to a client.
    fn refuse_offer(&mut self, id: ParticipantId, error: &str0m::RtcError) {
        tracing::debug!(participant = %id, %error, "offer refused");
        self.reject(id, Rejection::BadSdp(SdpProblem::OfferDoesNotFit));
    }

    fn accept_answer(&mut self, id: ParticipantId, answer: ClientAnswer) {
        let Some(participant) = self.participants.get_mut(&id) else {
            return self.reject(id, Rejection::NotJoined);
        };
        let Some(pending) = participant.pending_offer.take() else {
            return self.reject(id, Rejection::UnexpectedAnswer);
        };
        let answer = answer.into_inner();
        if let Err(error) = participant.rtc.sdp_api().accept_answer(pending, answer) {
            // str0m has applied part of our offer and dropped the rest: the session no longer
            // matches what either side believes, so it ends (the client may join again).
            tracing::debug!(participant = %id, %error, "answer refused");
            participant.rtc.disconnect();
            self.reject(id, Rejection::BadSdp(SdpProblem::AnswerDoesNotFit));
            self.mark_dirty(id);
            return;
        }
        for source in participant.settle_offer() {
            self.request_first_keyframe(id, source);
        }
        self.mark_dirty(id);
    }

    /// Frees everything `id` held; `vanished` when it went without a `Leave`.
    pub(super) fn remove(&mut self, id: ParticipantId, vanished: bool) {
        let Some(mut participant) = self.participants.remove(&id) else {
            return;
        };
        participant.rtc.disconnect();
        self.demux.remove(id);
        self.deferred_keyframes.retain(|(p, _, _)| *p != id);
        let mut others = Vec::new();
        if let Some(members) = self.rooms.get_mut(&participant.room) {
            members.retain(|m| *m != id);
            others.clone_from(members);
            if members.is_empty() {
                self.rooms.remove(&participant.room);
                self.speakers.remove(&participant.room);
            }
        }
        if let Some(detector) = self.speakers.get_mut(&participant.room) {
            detector.remove(id);
        }
        for other in others {
            if let Some(p) = self.participants.get_mut(&other) {
                p.unsubscribe_all_of(id);
                self.mark_dirty(other);
            }
        }
        if vanished {
            self.outputs.push_back(Output::Event(id, MediaEvent::Gone));
        }
        tracing::debug!(participant = %id, vanished, "media session freed");
    }

    /// Changes what `id` may publish. Media of a withdrawn source is dropped from its next packet;
    /// a source given back restarts every subscriber's stream of it (at a keyframe, for video).
    fn set_rights(&mut self, id: ParticipantId, rights: PublishRights) {
        // The control plane sends rights whenever they change, media session or not (its first
        // offer may have been refused, or not sent yet): there is nothing to gate, and nothing
        // to complain about either.
        let Some(participant) = self.participants.get_mut(&id) else {
            return;
        };
        let before = participant.rights;
        participant.rights = rights;
        let mut restored_video = Vec::new();
        for (mid, track) in participant.published.iter_mut() {
            if before.allows(track.source) || !rights.allows(track.source) {
                continue;
            }
            track.generation = track.generation.wrapping_add(1);
            if track.kind == MediaKind::Video {
                restored_video.push(*mid);
            }
        }
        for mid in restored_video {
            let slots = self
                .participants
                .get(&id)
                .and_then(|p| p.published.get(&mid));
            let slots: Vec<usize> = slots.map_or(Vec::new(), |t| {
                (0..t.layers.len())
                    .filter(|&s| t.layers.is_active(s))
                    .collect()
            });
            for slot in slots {
                self.request_keyframe(id, mid, slot);
            }
        }
    }

    /// Sets the quality `subscriber` wants of `publisher`'s video, now and for its later tracks.
    fn set_preferred_layer(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        layer: Layer,
    ) {
        // Like rights, the control plane sends a wish whenever it is made, media session or not
        // (and repeats it when a session starts): without one there is nothing to apply.
        if !self.participants.contains_key(&subscriber) {
            return;
        }
        // A preference about nobody here (yet), or about someone in another room, is not kept:
        // only a room's own members are cleaned up when one of them leaves.
        let room_of = |id: &ParticipantId| self.participants.get(id).map(|p| p.room);
        if publisher == subscriber || room_of(&publisher) != room_of(&subscriber) {
            return;
        }
        let Some(participant) = self.participants.get_mut(&subscriber) else {
            return;
        };
        participant.preferred_layers.insert(publisher, layer);
        let mut wanted = Vec::new();
        for ((from, mid), sub) in participant.subscriptions.iter_mut() {
            if *from == publisher && sub.kind == MediaKind::Video {
                sub.out.layer.preferred = layer;
                wanted.push((*from, *mid));
            }
        }
        // Ask at once for the new layer's keyframe rather than at its next packet.
        for source in wanted {
            self.request_first_keyframe(subscriber, source);
        }
    }

    fn fresh_ufrag(&self) -> String {
        loop {
            let ufrag = Alphanumeric.sample_string(&mut rand::rng(), 16);
            if !self.demux.has_ufrag(&ufrag) {
                return ufrag;
            }
        }
    }
}

/// A UDP host candidate for each UDP address, then a passive TCP one for each TCP address.
/// str0m ranks a TCP host candidate below a UDP one (type preference 90 against 126, as libwebrtc
/// does), so a browser that can use UDP does.
fn host_candidates(
    addrs: &HostCandidates,
) -> impl Iterator<Item = Result<Candidate, str0m::error::IceError>> + '_ {
    let udp = addrs.udp.iter().map(|a| Candidate::host(*a, "udp"));
    let tcp = addrs.tcp.iter().map(|a| {
        Candidate::builder()
            .tcp()
            .host(*a)
            .tcptype(TcpType::Passive)
            .build()
    });
    udp.chain(tcp)
}

/// The client's declaration as (mid, source) pairs, bounded.
fn declared_sources(sources: &[(String, TrackSource)]) -> Vec<(Mid, TrackSource)> {
    sources
        .iter()
        .take(MAX_DECLARED_SOURCES)
        .map(|(mid, source)| (Mid::from(mid.as_str()), *source))
        .collect()
}
