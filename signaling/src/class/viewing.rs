//! What each member wants to receive: the quality of another member's video, which the client
//! picks from the size it shows that video at (a thumbnail needs the lowest simulcast layer, the
//! stage the best). It changes nothing for anyone else, so every role may ask; the shard applies
//! it at the next keyframe of the chosen layer.

use sfu::{Command, Layer, ParticipantId};

use super::{parse_id, Class, Outcome};
use crate::protocol::{ErrorCode, ProtocolError, VideoQuality};

impl Class {
    pub(super) fn prefer_quality(
        &mut self,
        who: ParticipantId,
        target: &str,
        quality: VideoQuality,
        out: &mut Outcome,
    ) -> Result<(), ProtocolError> {
        let publisher = parse_id(target)?;
        self.member(publisher)?;
        if publisher == who {
            return Err(ProtocolError::new(
                ErrorCode::BadTarget,
                "your own video is not sent back to you",
            ));
        }
        let layer = layer_of(quality);
        let Some(member) = self.members.get_mut(&who) else {
            return Ok(());
        };
        if member.wanted_quality.insert(publisher, layer) == Some(layer) {
            return Ok(());
        }
        out.media.push(Command::SetPreferredLayer {
            subscriber: who,
            publisher,
            layer,
        });
        Ok(())
    }
}

fn layer_of(quality: VideoQuality) -> Layer {
    match quality {
        VideoQuality::Low => Layer::Low,
        VideoQuality::Medium => Layer::Medium,
        VideoQuality::High => Layer::High,
    }
}
