//! A client's SDP, checked and parsed in its session before it reaches a media shard.
//!
//! A shard thread forwards the media of every class on it, so nothing a client sends may make it
//! work for long: parsing a large SDP costs milliseconds, and each m-line that sends becomes a
//! track the shard forwards and announces to everyone in the class. So the session, on the
//! signalling runtime, refuses what is over a limit (size, offers a minute, tracks of each source,
//! m-lines) and parses the rest; the shard gets a parsed [`ClientOffer`] or [`ClientAnswer`].
//! Every refusal is a clear error, and the media session goes on as it was.

use std::time::Instant;

use sfu::{ClientAnswer, ClientOffer, Rejection, TrackSource};

use crate::auth::receive_only::publishes;
use crate::config::Config;
use crate::limits::TokenBucket;
use crate::protocol::{ErrorCode, ProtocolError, Role};

/// One participant's gate for its SDP: the offer rate, and what it last said its m-lines carry.
#[derive(Debug)]
pub struct OfferGate {
    offers: TokenBucket,
    /// The `sources` of its last offer: an answer's sending m-lines are counted by them.
    declared: Vec<(String, TrackSource)>,
}

impl OfferGate {
    pub fn new(config: &Config, now: Instant) -> Self {
        let limits = &config.limits;
        OfferGate {
            offers: TokenBucket::per_minute(limits.offers_per_minute, limits.offer_burst, now),
            declared: Vec::new(),
        }
    }

    /// Checks and parses an offer from a participant in `role` (`None`: not a member yet).
    /// Every offer counts against the rate, refused or not: each costs us the work of reading it.
    pub fn offer(
        &mut self,
        config: &Config,
        role: Option<Role>,
        sdp: &str,
        sources: &[(String, TrackSource)],
        now: Instant,
    ) -> Result<ClientOffer, ProtocolError> {
        let limits = &config.limits;
        if !self.offers.try_take(now) {
            return Err(ProtocolError::new(
                ErrorCode::OfferRateLimited,
                format!(
                    "too many offers (at most {} a minute, {} at once); this one was dropped, offer again later",
                    limits.offers_per_minute, limits.offer_burst
                ),
            ));
        }
        check_shape(config, role, sdp, sources, "offer")?;
        let offer = ClientOffer::parse(sdp).map_err(|why| refused(&why))?;
        self.declared = sources.to_vec();
        Ok(offer)
    }

    /// Checks and parses an answer to the shard's offer. Not rate-limited here: the shard refuses
    /// an answer it did not ask for, and the connection's message rate bounds those.
    pub fn answer(
        &self,
        config: &Config,
        role: Option<Role>,
        sdp: &str,
    ) -> Result<ClientAnswer, ProtocolError> {
        // An answer can turn an m-line the server offered into one that sends, so it meets the
        // same limits as an offer, its m-lines counted by the sources of the last offer.
        check_shape(config, role, sdp, &self.declared, "answer")?;
        ClientAnswer::parse(sdp).map_err(|why| refused(&why))
    }
}

/// The checks that read the SDP as text, cheaply, before anything parses it.
fn check_shape(
    config: &Config,
    role: Option<Role>,
    sdp: &str,
    sources: &[(String, TrackSource)],
    what: &str,
) -> Result<(), ProtocolError> {
    let limits = &config.limits;
    if sdp.len() > limits.max_sdp_bytes {
        return Err(ProtocolError::new(
            ErrorCode::SdpTooLarge,
            format!("an SDP {what} is at most {} bytes", limits.max_sdp_bytes),
        ));
    }
    let sections = sections(sdp);
    let most = most_media_sections(config);
    if sections.len() > most {
        return Err(ProtocolError::new(
            ErrorCode::TooManyTracks,
            format!(
                "an SDP {what} has at most {most} m-lines in a class of {} people",
                config.max_participants_per_room
            ),
        ));
    }
    if role == Some(Role::Observer) && publishes(sdp) {
        return Err(ProtocolError::new(
            ErrorCode::BadSdp,
            format!("an observer only receives: {what} every m-line as inactive or recvonly"),
        ));
    }
    check_sources(&sections, sources)?;
    for (source, count) in sending_by_source(&sections, sources) {
        let allowed = limits.tracks_of(source);
        if count > allowed {
            return Err(ProtocolError::new(
                ErrorCode::TooManyTracks,
                format!(
                    "this {what} sends {count} {} tracks; at most {allowed} (and {} microphone, {} camera, {} screen in all)",
                    source_name(source),
                    limits.max_mic_tracks,
                    limits.max_camera_tracks,
                    limits.max_screen_tracks,
                ),
            ));
        }
    }
    Ok(())
}

/// Most m-lines an offer or answer may have: the participant's own, plus one for each track every
/// other member of a full class may publish (the shard reuses an idle m-line before adding one),
/// plus one for a data channel.
pub fn most_media_sections(config: &Config) -> usize {
    let limits = &config.limits;
    let per_member = limits.max_mic_tracks + limits.max_camera_tracks + limits.max_screen_tracks;
    per_member
        .saturating_mul(config.max_participants_per_room.max(1))
        .saturating_add(1)
}

/// The error for an SDP the shard side refused (parse or codecs).
fn refused(why: &Rejection) -> ProtocolError {
    match why {
        Rejection::NoUsableCodec => ProtocolError::new(
            ErrorCode::NoUsableCodec,
            "the offer has no codec this server speaks (Opus for audio; VP8 or H.264 for video)",
        ),
        Rejection::BadSdp(problem) => {
            ProtocolError::new(ErrorCode::BadSdp, format!("the SDP was refused: {problem}"))
        }
        // Parsing refuses nothing else; should it one day, the client still gets an answer.
        other => ProtocolError::new(ErrorCode::BadSdp, format!("the SDP was refused: {other:?}")),
    }
}

fn source_name(source: TrackSource) -> &'static str {
    match source {
        TrackSource::Mic => "microphone",
        TrackSource::Camera => "camera",
        TrackSource::Screen => "screen",
    }
}

/// One media section (m-line) of an SDP, as far as the limits need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// `audio`, `video`, `application`, ...: the first word after `m=`.
    pub media: &'a str,
    /// Its `a=mid`, if it has one.
    pub mid: Option<&'a str>,
    /// Whether it may carry media from the client to the server.
    pub sends: bool,
}

/// The media sections of `sdp`, read failing closed: a section sends if any of its direction
/// attributes says so, and one with none takes the session-level direction, or `sendrecv` (the
/// default, RFC 8866 §6.7). str0m reads the first attribute only, and none as `inactive`: we never
/// count fewer sending sections than it does.
pub fn sections(sdp: &str) -> Vec<Section<'_>> {
    struct Reading<'a> {
        media: &'a str,
        mid: Option<&'a str>,
        sends: bool,
        has_direction: bool,
    }
    let mut session_sends = None;
    let mut read: Vec<Reading> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            read.push(Reading {
                media: m.split(' ').next().unwrap_or_default(),
                mid: None,
                sends: false,
                has_direction: false,
            });
            continue;
        }
        if let Some(mid) = line.strip_prefix("a=mid:") {
            if let Some(section) = read.last_mut() {
                section.mid = section.mid.or(Some(mid));
            }
            continue;
        }
        let sends = match line {
            "a=sendrecv" | "a=sendonly" => true,
            "a=recvonly" | "a=inactive" => false,
            _ => continue,
        };
        match read.last_mut() {
            Some(section) => {
                section.sends |= sends;
                section.has_direction = true;
            }
            None => session_sends = Some(session_sends.unwrap_or(false) | sends),
        }
    }
    read.into_iter()
        .map(|r| Section {
            media: r.media,
            mid: r.mid,
            sends: if r.has_direction {
                r.sends
            } else {
                session_sends.unwrap_or(true)
            },
        })
        .collect()
}

/// Refuses a declaration that does not fit its m-line: publishing rights are checked by the
/// declared source, so a microphone declared as a camera would be heard while muted.
fn check_sources(
    sections: &[Section<'_>],
    declared: &[(String, TrackSource)],
) -> Result<(), ProtocolError> {
    for (mid, source) in declared {
        let media = sections.iter().find(|s| s.mid == Some(mid.as_str()));
        let fits = match media.map(|s| s.media) {
            Some("audio") => *source == TrackSource::Mic,
            Some("video") => matches!(source, TrackSource::Camera | TrackSource::Screen),
            // A mid of no m-line (or of a data channel) carries nothing to gate.
            _ => true,
        };
        if !fits {
            return Err(ProtocolError::new(
                ErrorCode::BadMessage,
                format!(
                    "\"sources\" declares m-line {mid:?} as {}: an audio m-line is a mic, a video m-line a camera or a screen",
                    source_name(*source)
                ),
            ));
        }
    }
    Ok(())
}

/// How many sending audio/video sections carry each source: as declared for their mid, or by
/// kind (audio: microphone; video: camera). Other sections (a data channel) carry no track.
fn sending_by_source(
    sections: &[Section<'_>],
    declared: &[(String, TrackSource)],
) -> [(TrackSource, usize); 3] {
    let mut counts = [
        (TrackSource::Mic, 0),
        (TrackSource::Camera, 0),
        (TrackSource::Screen, 0),
    ];
    for section in sections.iter().filter(|s| s.sends) {
        let kind = match section.media {
            "audio" => sfu::TrackKind::Audio,
            "video" => sfu::TrackKind::Video,
            _ => continue,
        };
        let declared = section
            .mid
            .and_then(|mid| declared.iter().find(|(m, _)| m == mid))
            .map(|(_, source)| *source);
        let source = declared.unwrap_or(TrackSource::undeclared(kind));
        for (s, n) in &mut counts {
            if *s == source {
                *n += 1;
            }
        }
    }
    counts
}

#[cfg(test)]
#[path = "offer_check_tests.rs"]
mod tests;
