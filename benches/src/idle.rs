//! A shard core holding many joined participants that do nothing: what every wake-up of the shard
//! pays for the sessions it holds, whether or not they have traffic.

use std::net::SocketAddr;
use std::time::Instant;

use sfu::core::{Input, Output, ShardCore};
use sfu::{ClientOffer, Command, ParticipantId, RoomId};
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Rtc};

use crate::{init, SERVER};

/// Participants per room, as in a class.
const CLASS: usize = 30;

/// A core with `participants` joined (not connected) participants in classes of 30, drained, and
/// the instant it was built at (its clock: nothing is due then).
pub fn idle_core(participants: usize) -> (ShardCore, Instant) {
    init();
    let now = Instant::now();
    let offer = watcher_offer(now);
    let mut core = ShardCore::new(SERVER, now);
    for i in 0..participants {
        let join = Command::Join {
            room: RoomId((i / CLASS) as u64),
            participant: ParticipantId(i as u64 + 1),
            offer: ClientOffer::parse(&offer).expect("the watcher offer parses"),
            sources: Vec::new(),
        };
        core.handle_input(now, Input::Command(join));
        drain(&mut core);
    }
    (core, now)
}

/// Polls the core until it times out. Returns the deadline and how many outputs came before it.
pub fn drain(core: &mut ShardCore) -> (Instant, usize) {
    let mut outputs = 0;
    loop {
        match core.poll_output() {
            Output::Timeout(at) => return (at, outputs),
            _ => outputs += 1,
        }
    }
}

/// The first offer of a pupil with camera and microphone off (one SDP serves every join: the
/// core gives each session its own credentials).
fn watcher_offer(now: Instant) -> String {
    let mut rtc = Rtc::builder().build(now);
    let addr = SocketAddr::from(([127, 0, 0, 1], 41000));
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
    api.add_media(MediaKind::Video, Direction::Inactive, None, None, None);
    let (offer, _pending) = api.apply().expect("an offer");
    offer.to_sdp_string()
}
