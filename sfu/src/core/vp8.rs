//! VP8 picture numbering of one outgoing RTP stream.
//!
//! A VP8 packet's payload descriptor (RFC 7741) numbers pictures: PictureID (7 or 15 bits, one
//! per picture), TL0PICIDX (8 bits, one per base temporal layer picture) and KEYIDX (5 bits, one
//! per keyframe). A receiver's jitter buffer and decoder follow these numbers to know which
//! pictures are complete, continuous and decodable. Each simulcast layer is its own encoder with
//! its own, unrelated numbers, so at a layer switch a subscriber would see the numbering jump.
//! Chromium shrugs that off; with Firefox at either end, video froze at switches (frames decoded
//! fell to a few per 2 s while packets arrived without loss, issue 10).
//!
//! [`Vp8Rewriter`] makes each subscriber's stream one continuous VP8 stream, as
//! [`super::rewrite::Rewriter`] does for sequence numbers and timestamps: within one source (one
//! layer of one publisher, from the keyframe it was switched to at) each number moves by a fixed
//! offset, so every packet of a picture keeps one PictureID and a reordered or retransmitted
//! packet lands on the number it would have had in order; when a new source starts, its offsets
//! are set so that its first picture continues one after the highest number sent. A packet whose
//! PictureID is older than the first picture of its source is refused: it would take a number the
//! previous source already used.
//!
//! The forms are kept as they come (a 7-bit PictureID stays 7 bits): the rewrite is a patch of a
//! few bytes that str0m applies when it serialises the packet ([`Vp8Patch`]), so every subscriber
//! shares the one received payload and nothing is copied or allocated per packet. Widening a
//! 7-bit PictureID would grow the payload, which only a copy per subscriber could do; browsers
//! always send 15 bits. Numbers are counted in one continuous space and written modulo the width
//! of the packet's own field, so even a stream whose sources differ in width stays continuous in
//! the bits each packet carries.

use str0m::rtp::{Vp8Descriptor, Vp8Patch};

use super::rewrite::Refused;

/// PictureID widths (RFC 7741: M bit clear, 7 bits; set, 15 bits).
const SHORT_PICTURE_ID_BITS: u32 = 7;
const LONG_PICTURE_ID_BITS: u32 = 15;
const TL0PICIDX_BITS: u32 = 8;
const KEYIDX_BITS: u32 = 5;
/// The PictureID field always follows the required octet and the extension octet.
const PICTURE_ID_OFFSET: usize = 2;
/// The M bit of the first PictureID octet: 15 bits.
const PICTURE_ID_LONG: u8 = 0x80;

/// A PictureID as carried: 7 or 15 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureId {
    Short(u8),
    Long(u16),
}

impl PictureId {
    fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v),
            PictureId::Long(v) => v,
        }
    }

    fn bits(self) -> u32 {
        match self {
            PictureId::Short(_) => SHORT_PICTURE_ID_BITS,
            PictureId::Long(_) => LONG_PICTURE_ID_BITS,
        }
    }

    /// The same form holding `value` (cut to the form's width).
    fn with(self, value: u64) -> Self {
        match self {
            PictureId::Short(_) => PictureId::Short((value & mask(SHORT_PICTURE_ID_BITS)) as u8),
            PictureId::Long(_) => PictureId::Long((value & mask(LONG_PICTURE_ID_BITS)) as u16),
        }
    }
}

/// The picture numbers of one VP8 packet's descriptor; `None` where the field is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Vp8Numbers {
    pub picture_id: Option<PictureId>,
    pub tl0_pic_idx: Option<u8>,
    pub key_idx: Option<u8>,
}

impl Vp8Numbers {
    /// The numbers of a parsed descriptor. `payload` is the payload it was parsed from.
    pub fn read(descriptor: &Vp8Descriptor, payload: &[u8]) -> Self {
        let long = payload
            .get(PICTURE_ID_OFFSET)
            .is_some_and(|b| b & PICTURE_ID_LONG != 0);
        let picture_id = descriptor.picture_id().map(|v| {
            if long {
                PictureId::Long(v)
            } else {
                PictureId::Short(v as u8)
            }
        });
        Vp8Numbers {
            picture_id,
            tl0_pic_idx: descriptor.tl0_pic_idx(),
            key_idx: descriptor.key_idx(),
        }
    }

    /// The patch that writes these numbers into the packet `descriptor` was parsed from; `None`
    /// when it has no numbers (or, which [`Vp8Rewriter`] never gives, one does not fit its field).
    pub fn patch(&self, descriptor: &Vp8Descriptor) -> Option<Vp8Patch> {
        if *self == Vp8Numbers::default() {
            return None;
        }
        let mut patch = descriptor.patch();
        if let Some(picture_id) = self.picture_id {
            patch = patch.picture_id(picture_id.value());
        }
        if let Some(tl0_pic_idx) = self.tl0_pic_idx {
            patch = patch.tl0_pic_idx(tl0_pic_idx);
        }
        if let Some(key_idx) = self.key_idx {
            patch = patch.key_idx(key_idx);
        }
        patch.build().ok()
    }
}

/// The VP8 numbering of one outgoing stream. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Vp8Rewriter {
    picture_id: Counter,
    tl0_pic_idx: Counter,
    key_idx: Counter,
}

impl Vp8Rewriter {
    /// The next packet starts a new source (the seq/timestamp rewriter started one with it).
    pub fn start_source(&mut self) {
        self.picture_id.source = None;
        self.tl0_pic_idx.source = None;
        self.key_idx.source = None;
    }

    /// The numbers a packet of the current source goes out with.
    pub fn rewrite(&mut self, numbers: Vp8Numbers) -> Result<Vp8Numbers, Refused> {
        let picture_id = match numbers.picture_id {
            Some(id) => {
                let out = self.picture_id.map(id.value(), id.bits())?;
                Some(id.with(out))
            }
            None => None,
        };
        let tl0_pic_idx = numbers.tl0_pic_idx.map(|v| {
            let out = self.tl0_pic_idx.map_lenient(u16::from(v), TL0PICIDX_BITS);
            (out & mask(TL0PICIDX_BITS)) as u8
        });
        let key_idx = numbers.key_idx.map(|v| {
            let out = self.key_idx.map_lenient(u16::from(v), KEYIDX_BITS);
            (out & mask(KEYIDX_BITS)) as u8
        });
        Ok(Vp8Numbers {
            picture_id,
            tl0_pic_idx,
            key_idx,
        })
    }
}

/// One wrapping number of the descriptor, carried from each source onto one outgoing count.
///
/// Values are "extended" (unwrapped) in 64 bits, compared by their wrapping difference so that a
/// source starting near zero can still place a late packet just below its first value.
#[derive(Debug, Clone, Copy, Default)]
struct Counter {
    /// The current source's mapping, from the first packet that carried this number.
    source: Option<CounterSource>,
    /// The newest value sent, in the outgoing count.
    newest_out: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct CounterSource {
    /// The source's first value (extended): older ones belong to before the switch.
    first: u64,
    /// The source's newest value (extended): the reference for unwrapping the next one.
    newest: u64,
    /// Added to an extended source value to give the outgoing one.
    offset: u64,
}

impl Counter {
    /// Maps a `bits`-wide source value, refusing one from before the source's first.
    fn map(&mut self, value: u16, bits: u32) -> Result<u64, Refused> {
        let Some(source) = self.source.as_mut() else {
            return Ok(self.start(value, bits));
        };
        let extended = unwrap(source.newest, u64::from(value), bits);
        if is_before(extended, source.first) {
            return Err(Refused::BeforeSwitch);
        }
        Ok(self.place(extended))
    }

    /// Maps a `bits`-wide source value; one from before the source's first maps by the same
    /// offset (TL0PICIDX and KEYIDX only name what a picture depends on: the PictureID decides
    /// whether a packet belongs).
    fn map_lenient(&mut self, value: u16, bits: u32) -> u64 {
        let Some(source) = self.source.as_mut() else {
            return self.start(value, bits);
        };
        let extended = unwrap(source.newest, u64::from(value), bits);
        self.place(extended)
    }

    /// A new source at `value`: it continues right after the newest value sent (or keeps its
    /// own value if nothing was sent yet).
    fn start(&mut self, value: u16, bits: u32) -> u64 {
        let first = u64::from(value) & mask(bits);
        let out = self.newest_out.map_or(first, |n| n.wrapping_add(1));
        self.source = Some(CounterSource {
            first,
            newest: first,
            offset: out.wrapping_sub(first),
        });
        self.note_sent(out);
        out
    }

    fn place(&mut self, extended: u64) -> u64 {
        let Some(source) = self.source.as_mut() else {
            return extended;
        };
        if is_before(source.newest, extended) {
            source.newest = extended;
        }
        let out = extended.wrapping_add(source.offset);
        self.note_sent(out);
        out
    }

    fn note_sent(&mut self, out: u64) {
        match self.newest_out {
            Some(newest) if !is_before(newest, out) => {}
            _ => self.newest_out = Some(out),
        }
    }
}

fn mask(bits: u32) -> u64 {
    (1u64 << bits) - 1
}

/// The extended value closest to `reference` whose low `bits` are `value`.
fn unwrap(reference: u64, value: u64, bits: u32) -> u64 {
    let modulus = 1u64 << bits;
    let ahead = value.wrapping_sub(reference) & (modulus - 1);
    if ahead < modulus / 2 {
        reference.wrapping_add(ahead)
    } else {
        reference.wrapping_sub(modulus - ahead)
    }
}

/// `a` comes before `b` (wrapping comparison of extended values).
fn is_before(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) < 0
}

#[cfg(test)]
#[path = "vp8_tests.rs"]
mod tests;
