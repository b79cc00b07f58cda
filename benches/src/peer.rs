//! The browser-like peers of a [`Room`](crate::Room): full-ICE str0m `Rtc`s that offer one audio
//! and one video m-line like the web client, and answer the core's offers as its signalling does.

use std::net::SocketAddr;
use std::time::Instant;

use sfu::{ClientAnswer, ClientOffer, Command, MediaEvent, ParticipantId, RoomId};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Rtc};

use crate::SERVER;

/// Peer `i` listens on this port + `i`.
pub(crate) const FIRST_PORT: u16 = 41000;

#[derive(Debug)]
pub(crate) struct Peer {
    pub id: ParticipantId,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub timeout: Instant,
    /// Our outstanding offer (the join), until the core's answer arrives.
    pending: Option<SdpPendingOffer>,
    pub audio: (Mid, Pt),
    pub video: (Mid, Pt),
    /// str0m on the peer says ICE and DTLS are up.
    pub connected: bool,
    /// The core said `Connected` about this participant.
    pub core_connected: bool,
    pub tracks_announced: usize,
}

impl Peer {
    /// Peer `index` (participant `index + 1`) and its `Join`: a publisher offers audio and video
    /// to send, a watcher offers both `inactive` (camera and microphone off). The publisher runs
    /// str0m in RTP mode, so that its VP8 packets carry the payload descriptor a browser's do
    /// (str0m's own packetizer writes no PictureID), which the core rewrites per subscriber.
    pub fn join(index: usize, room: RoomId, now: Instant, publishes: bool) -> (Peer, Command) {
        let id = ParticipantId(index as u64 + 1);
        let addr = SocketAddr::from(([127, 0, 0, 1], FIRST_PORT + index as u16));
        let mut rtc = Rtc::builder().set_rtp_mode(publishes).build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
        let direction = if publishes {
            Direction::SendOnly
        } else {
            Direction::Inactive
        };
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, direction, None, None, None);
        let video = api.add_media(MediaKind::Video, direction, None, None, None);
        let (offer, pending) = api.apply().expect("an offer");
        let join = Command::Join {
            room,
            participant: id,
            offer: ClientOffer::parse(&offer.to_sdp_string()).expect("our offer parses"),
            sources: Vec::new(),
        };
        let peer = Peer {
            id,
            addr,
            rtc,
            timeout: now,
            pending: Some(pending),
            audio: (audio, Pt::from(0)),
            video: (video, Pt::from(0)),
            connected: false,
            core_connected: false,
            tracks_announced: 0,
        };
        (peer, join)
    }

    /// A datagram from the core.
    pub fn receive(&mut self, now: Instant, contents: &[u8]) {
        let receive = Receive::new(Protocol::Udp, SERVER, self.addr, contents);
        let receive = receive.expect("a datagram from the core");
        if let Err(e) = self.rtc.handle_input(str0m::Input::Receive(now, receive)) {
            panic!("peer {} refused a datagram from the core: {e}", self.id);
        }
    }

    /// Feeds a due timeout, then polls until the next one; what it sends goes to `out`. Returns
    /// whether anything happened.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<(SocketAddr, Vec<u8>)>) -> bool {
        let mut busy = false;
        if self.timeout <= now {
            let timeout = str0m::Input::Timeout(now);
            self.rtc.handle_input(timeout).expect("peer timeout");
            busy = true;
        }
        loop {
            match self.rtc.poll_output().expect("peer poll") {
                str0m::Output::Timeout(at) => {
                    self.timeout = at;
                    return busy;
                }
                str0m::Output::Transmit(t) => {
                    out.push((t.source, t.contents.into()));
                    busy = true;
                }
                str0m::Output::Event(Event::Connected) => self.connected = true,
                str0m::Output::Event(_) => {}
            }
        }
    }

    /// What the signalling code of a browser does with an event of the core. Returns the
    /// command it sends back, if any.
    pub fn on_core_event(&mut self, event: MediaEvent) -> Option<Command> {
        let id = self.id;
        match event {
            MediaEvent::Answer { sdp } => {
                let pending = self.pending.take().expect("an answer only to our offer");
                let answer = SdpAnswer::from_sdp_string(&sdp).expect("answer parses");
                let api = self.rtc.sdp_api();
                api.accept_answer(pending, answer).expect("answer accepted");
                self.audio.1 = payload_type(&mut self.rtc, self.audio.0, Codec::Opus);
                self.video.1 = payload_type(&mut self.rtc, self.video.0, Codec::Vp8);
            }
            MediaEvent::Offer { sdp } => {
                let offer = SdpOffer::from_sdp_string(&sdp).expect("offer parses");
                let answer = self.rtc.sdp_api().accept_offer(offer).expect("accepted");
                let sdp = answer.to_sdp_string();
                return Some(Command::Answer {
                    participant: id,
                    answer: ClientAnswer::parse(&sdp).expect("our answer parses"),
                });
            }
            MediaEvent::TrackAdded { .. } => self.tracks_announced += 1,
            MediaEvent::Connected => self.core_connected = true,
            MediaEvent::TrackRemoved { .. }
            | MediaEvent::ActiveSpeaker { .. }
            | MediaEvent::VideoResumed { .. } => {}
            MediaEvent::VideoPaused { .. } => {
                panic!("a video was paused for {id}: the benchmark would not measure full fan-out")
            }
            MediaEvent::Rejected(why) => panic!("the core rejected {id}: {why:?}"),
            MediaEvent::Gone => panic!("the session of {id} ended during the benchmark"),
        }
        None
    }
}

/// The payload type negotiated for `codec` on `mid` (0 if none: only the publisher writes).
fn payload_type(rtc: &mut Rtc, mid: Mid, codec: Codec) -> Pt {
    let params = rtc.codec_config().params().to_vec();
    let negotiated = rtc.media(mid).map(|m| m.remote_pts().to_vec());
    let pt = params
        .iter()
        .filter(|p| p.spec().codec == codec)
        .map(|p| p.pt())
        .find(|pt| negotiated.as_ref().is_some_and(|n| n.contains(pt)));
    pt.unwrap_or(Pt::from(0))
}
