//! Sequence numbers and timestamps of one outgoing RTP stream.
//!
//! Each subscriber's m-line is its own RTP stream (its own SSRC, chosen by str0m), fed over its
//! life by different sources: a publisher's packets, then another simulcast layer of it, or
//! another publisher when an idle m-line is reused. The receiver must see one unbroken stream:
//! sequence numbers that go up by one per packet it was meant to get, and timestamps that keep
//! moving with the clock. [`Rewriter`] maps each source packet's (extended) sequence number and
//! timestamp to the outgoing ones:
//!
//! - within a source the mapping is a fixed offset, so reordered and retransmitted (RTX-repaired)
//!   packets land on the same outgoing number as they would have in order, and a packet lost
//!   upstream leaves a hole the receiver can NACK (and get once the server's own NACK repairs it);
//! - a packet the server drops on purpose ([`Rewriter::skip`]) closes its slot, so the receiver
//!   does not NACK what was never meant for it;
//! - a new source ([`Rewriter::resync`] then the next packet, or [`Rewriter::switch`]) continues
//!   right after the highest number sent, with a timestamp advanced by the wall-clock time since
//!   the last packet sent.
//!
//! The first packet ever maps to its own low 16 bits, so the outgoing stream starts with a
//! rollover counter of 0 whatever the source's (SRTP needs both ends to agree on it).

use std::collections::VecDeque;
use std::time::Instant;

/// Deliberate skips remembered for mapping late (reordered) packets of the current source. Each
/// run of consecutive skips takes one entry; beyond this many, packets from before the oldest
/// remembered skip are refused as too old.
const MAX_SKIP_MARKS: usize = 32;
/// A packet further than this behind the newest of its source is refused: NACK repair is long
/// over by then, and forwarding it would only confuse the receiver's jitter buffer.
pub const MAX_REORDER: u64 = 1_000;

/// A packet's place in the outgoing stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// Extended sequence number (the high bits are the SRTP rollover counter).
    pub seq: u64,
    /// RTP timestamp.
    pub time: u32,
    /// It arrived after newer packets of its source (reordered, or repaired upstream by RTX): the
    /// receiver has probably NACKed it already.
    pub late: bool,
    /// It starts a new source (the first packet, a layer switch, a resync): numbering inside the
    /// payload, such as VP8's picture numbers, starts its new source here too.
    pub new_source: bool,
}

/// Why a packet has no place in the outgoing stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It is older than the packet its source was switched to at.
    BeforeSwitch,
    /// It is more than [`MAX_REORDER`] behind the newest packet of its source.
    TooOld,
}

/// The sequence/timestamp mapping of one outgoing stream. See the module documentation.
#[derive(Debug, Clone)]
pub struct Rewriter {
    clock_rate: u32,
    source: Option<Source>,
    /// The next packet starts a new source.
    resync: bool,
    /// Highest outgoing sequence number written, its timestamp, and when it was written.
    last_out: Option<(u64, u32, Instant)>,
    /// Offset changes caused by skips: `(from, offset)` applies to source numbers `>= from`.
    /// Oldest first; kept across sources so the allocation is made once.
    marks: VecDeque<(u64, u64)>,
}

/// The mapping of the current source.
#[derive(Debug, Clone, Copy)]
struct Source {
    /// Source numbers below this belong to before the switch.
    first_in: u64,
    /// Source numbers below this can no longer be placed (their skip mark was forgotten).
    floor: u64,
    /// Highest source number seen (forwarded or skipped).
    max_in: u64,
    /// Offset for numbers below the first mark.
    offset: u64,
    time_offset: u32,
}

impl Rewriter {
    /// A stream whose media runs at `clock_rate` Hz (48,000 for Opus, 90,000 for video).
    pub fn new(clock_rate: u32) -> Self {
        Rewriter {
            clock_rate,
            source: None,
            resync: false,
            last_out: None,
            marks: VecDeque::new(),
        }
    }

    /// The next packet given to [`Rewriter::rewrite`] starts a new source (another simulcast
    /// layer's keyframe, another publisher, media resuming after a pause).
    pub fn resync(&mut self) {
        self.resync = true;
    }

    /// Maps a packet of the current source (or starts the first source with it).
    pub fn rewrite(&mut self, seq: u64, time: u32, now: Instant) -> Result<Rewritten, Refused> {
        if self.resync {
            return Ok(self.switch(seq, time, now));
        }
        let Some(source) = self.source.as_mut() else {
            return Ok(self.switch(seq, time, now));
        };
        if seq < source.first_in {
            return Err(Refused::BeforeSwitch);
        }
        if seq < source.floor || source.max_in.saturating_sub(seq) > MAX_REORDER {
            return Err(Refused::TooOld);
        }
        let late = seq < source.max_in;
        source.max_in = source.max_in.max(seq);
        let offset = self
            .marks
            .iter()
            .rev()
            .find(|(from, _)| *from <= seq)
            .map_or(source.offset, |(_, offset)| *offset);
        let out = Rewritten {
            seq: seq.wrapping_add(offset),
            time: time.wrapping_add(source.time_offset),
            late,
            new_source: false,
        };
        self.note_sent(out, now);
        Ok(out)
    }

    /// Starts a new source at this packet: it gets the number after the highest sent, and a
    /// timestamp as far after the last one sent as wall-clock time has moved (at least 1).
    pub fn switch(&mut self, seq: u64, time: u32, now: Instant) -> Rewritten {
        self.resync = false;
        self.marks.clear();
        let out = match self.last_out {
            // The very first packet: keep its low 16 bits, so the rollover counter starts at 0.
            None => Rewritten {
                seq: seq & 0xffff,
                time,
                late: false,
                new_source: true,
            },
            Some((seq_out, time_out, at)) => {
                let elapsed = now.saturating_duration_since(at);
                let ticks = elapsed.as_micros() * u128::from(self.clock_rate) / 1_000_000;
                let ticks = u32::try_from(ticks).unwrap_or(u32::MAX).max(1);
                Rewritten {
                    seq: seq_out.wrapping_add(1),
                    time: time_out.wrapping_add(ticks),
                    late: false,
                    new_source: true,
                }
            }
        };
        self.source = Some(Source {
            first_in: seq,
            floor: seq,
            max_in: seq,
            offset: out.seq.wrapping_sub(seq),
            time_offset: out.time.wrapping_sub(time),
        });
        self.note_sent(out, now);
        out
    }

    /// A packet of the current source that is deliberately not forwarded: the packets after it
    /// move down into its slot. (A late packet skipped after newer ones went out leaves a hole:
    /// the numbers sent cannot change.)
    pub fn skip(&mut self, seq: u64) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        if self.resync || seq < source.first_in || seq <= source.max_in {
            return;
        }
        source.max_in = seq;
        let from = seq.wrapping_add(1);
        let current = self
            .marks
            .back()
            .map_or(source.offset, |(_, offset)| *offset);
        let offset = current.wrapping_sub(1);
        match self.marks.back_mut() {
            // A run of skips: nothing was forwarded since the last one, extend it.
            Some(last) if last.0 == seq => *last = (from, offset),
            _ => {
                if self.marks.len() == MAX_SKIP_MARKS {
                    // Forget the oldest mark; numbers before the next one can no longer be
                    // placed, so they are refused from now on.
                    if let Some((oldest_from, oldest)) = self.marks.pop_front() {
                        source.offset = oldest;
                        source.floor = oldest_from;
                    }
                }
                self.marks.push_back((from, offset));
            }
        }
    }

    fn note_sent(&mut self, out: Rewritten, now: Instant) {
        match self.last_out {
            Some((seq, _, _)) if seq >= out.seq => {}
            _ => self.last_out = Some((out.seq, out.time, now)),
        }
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;
