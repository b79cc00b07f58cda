//! The signalling side of the simulated clients: what a browser's code does with the core's
//! offers and answers, and the renegotiations a client starts itself.

use sfu::{ClientAnswer, ClientOffer, Command, MediaEvent, ParticipantId};
use str0m::change::{SdpAnswer, SdpApi, SdpOffer};
use str0m::media::Mid;

use super::client::direction;
use super::{Net, Publish};

impl Net {
    /// The client changes its own session (publishes or stops a track) and sends the offer with
    /// `Command::Offer`. Returns what the change closure returned.
    pub fn renegotiate<R>(&mut self, index: usize, change: impl FnOnce(&mut SdpApi) -> R) -> R {
        let client = self.client_mut(index);
        let mut api = client.rtc.sdp_api();
        let result = change(&mut api);
        let (offer, pending) = api.apply().expect("the change needs an offer");
        client.pending = Some(pending);
        let participant = client.id;
        self.command(Command::Offer {
            participant,
            offer: ClientOffer::parse(&offer.to_sdp_string()).expect("client offer parses"),
            sources: Vec::new(),
        });
        result
    }

    /// The client starts or stops sending audio or video (the camera button): a direction change
    /// on its own m-lines and an offer, as the web client does it.
    pub fn set_sending(&mut self, index: usize, publish: Publish) {
        let client = self.client_mut(index);
        let (audio, video) = (client.audio_mid, client.video_mid);
        client.sending = publish;
        self.renegotiate(index, |api| {
            api.set_direction(audio, direction(publish.audio));
            api.set_direction(video, direction(publish.video));
        });
    }

    /// Answers the offers `index` was holding back.
    pub fn release_offers(&mut self, index: usize) {
        let client = self.client_mut(index);
        client.hold_offers = false;
        let offers: Vec<_> = client.held_offers.drain(..).collect();
        for sdp in offers {
            self.answer(index, &sdp);
        }
        self.flush();
    }

    pub(super) fn on_core_event(&mut self, id: ParticipantId, event: MediaEvent) {
        let Some(&index) = self.by_id.get(&id) else {
            self.orphan_events.push((id, event));
            return;
        };
        let client = self.clients.get_mut(&index).expect("indexed client");
        client.events.push(event.clone());
        match event {
            MediaEvent::Answer { sdp } => {
                let pending = client.pending.take().expect("an answer only to our offer");
                let answer = SdpAnswer::from_sdp_string(&sdp).expect("answer parses");
                client
                    .rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .expect("answer accepted");
            }
            MediaEvent::Offer { sdp } if client.hold_offers => client.held_offers.push_back(sdp),
            MediaEvent::Offer { sdp } => self.answer(index, &sdp),
            MediaEvent::TrackAdded {
                mid,
                publisher,
                kind,
                ..
            } => {
                client
                    .tracks
                    .insert(Mid::from(mid.as_str()), (publisher, kind));
            }
            MediaEvent::TrackRemoved { mid } => {
                client.tracks.remove(&Mid::from(mid.as_str()));
            }
            _ => {}
        }
    }

    /// The client answers a server offer, as a browser's signalling code would.
    fn answer(&mut self, index: usize, sdp: &str) {
        let client = self.clients.get_mut(&index).expect("client exists");
        let offer = SdpOffer::from_sdp_string(sdp).expect("server offer parses");
        let answer = client
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("client accepts offer");
        let participant = client.id;
        self.commands.push_back(Command::Answer {
            participant,
            answer: ClientAnswer::parse(&answer.to_sdp_string()).expect("client answer parses"),
        });
    }
}
