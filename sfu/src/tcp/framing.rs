//! RFC 4571 framing: ICE-TCP carries each STUN, DTLS, RTP or RTCP packet behind a two-byte
//! big-endian length. A small codec of its own, with its limits, so the connection code only sees
//! whole packets and a peer can never make us hold more than one frame's worth of its bytes.

/// Largest frame we accept or send: the same bound as the largest UDP datagram the shard reads
/// (WebRTC keeps every packet under the path MTU, so no honest peer comes near it). The 16-bit
/// length field could announce 65,535; a peer that does is closed at once instead of being waited for.
pub const MAX_FRAME: usize = 2048;
/// Bytes of one connection read and kept at a time: a few frames, so one read usually brings
/// several packets and a partial frame never needs more than this.
pub const INBOUND_BUFFER: usize = 4 * (2 + MAX_FRAME);

/// Why a connection's byte stream is not RFC 4571 we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A length over [`MAX_FRAME`].
    TooLong(usize),
    /// A length of zero: no packet is empty.
    Empty,
}

/// Cuts a byte stream into frames. Bytes go in through [`FrameDecoder::spare`] (read straight from
/// the socket) and [`FrameDecoder::filled`]; whole frames come out of [`FrameDecoder::next_frame`].
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Box<[u8; INBOUND_BUFFER]>,
    /// Start of the bytes not yet handed out.
    start: usize,
    /// End of the bytes received.
    end: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder {
            buf: Box::new([0; INBOUND_BUFFER]),
            start: 0,
            end: 0,
        }
    }
}

impl FrameDecoder {
    /// Room for the next read. Empty only while a whole frame waits to be taken.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            // Move the partial frame to the front: it is at most one frame long.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into [`FrameDecoder::spare`].
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(INBOUND_BUFFER);
    }

    /// The next whole frame, `None` until its last byte has arrived.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let held = &self.buf[self.start..self.end];
        let Some(header) = held.get(..2) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
        if len > MAX_FRAME {
            return Err(FrameError::TooLong(len));
        }
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if held.len() < 2 + len {
            return Ok(None);
        }
        let frame = self.start + 2..self.start + 2 + len;
        self.start += 2 + len;
        Ok(Some(&self.buf[frame]))
    }

    /// Bytes received and not yet handed out as a frame.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }
}

/// Appends `packet` as one frame to `out` if the frame keeps `out` within `limit` bytes. Returns
/// false (and leaves `out` as it was) when it does not fit or is longer than [`MAX_FRAME`].
pub fn encode(packet: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
    let Ok(len) = u16::try_from(packet.len()) else {
        return false;
    };
    if packet.len() > MAX_FRAME || packet.is_empty() || out.len() + 2 + packet.len() > limit {
        return false;
    }
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(decoder: &mut FrameDecoder, bytes: &[u8]) {
        let spare = decoder.spare();
        spare[..bytes.len()].copy_from_slice(bytes);
        decoder.filled(bytes.len());
    }

    fn frames(decoder: &mut FrameDecoder) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut out = Vec::new();
        while let Some(frame) = decoder.next_frame()? {
            out.push(frame.to_vec());
        }
        Ok(out)
    }

    #[test]
    fn frames_come_out_whole_however_the_bytes_are_cut() {
        let mut wire = Vec::new();
        for n in [1usize, 20, 1200, MAX_FRAME] {
            assert!(encode(&vec![n as u8; n], &mut wire, usize::MAX));
        }
        for cut in [1, 2, 3, 7, 1000, wire.len()] {
            let mut decoder = FrameDecoder::default();
            let mut got = Vec::new();
            for chunk in wire.chunks(cut) {
                push(&mut decoder, chunk);
                got.extend(frames(&mut decoder).expect("valid"));
            }
            let lens: Vec<usize> = got.iter().map(Vec::len).collect();
            assert_eq!(lens, [1, 20, 1200, MAX_FRAME], "cut every {cut} bytes");
            assert!(got.iter().all(|f| f.iter().all(|b| *b == f.len() as u8)));
            assert_eq!(decoder.pending(), 0);
        }
    }

    #[test]
    fn a_length_over_the_limit_is_refused_before_its_bytes_arrive() {
        for len in [MAX_FRAME + 1, 65_535] {
            let mut decoder = FrameDecoder::default();
            push(&mut decoder, &(len as u16).to_be_bytes());
            assert_eq!(decoder.next_frame(), Err(FrameError::TooLong(len)));
        }
    }

    #[test]
    fn an_empty_frame_is_refused() {
        let mut decoder = FrameDecoder::default();
        push(&mut decoder, &[0, 0, 0, 5]);
        assert_eq!(decoder.next_frame(), Err(FrameError::Empty));
    }

    #[test]
    fn a_partial_frame_waits_and_the_buffer_never_overflows() {
        let mut decoder = FrameDecoder::default();
        push(&mut decoder, &(MAX_FRAME as u16).to_be_bytes());
        // Fill what the decoder offers; a frame can always complete within its buffer.
        let room = decoder.spare().len();
        assert!(room >= MAX_FRAME);
        push(&mut decoder, &vec![9; MAX_FRAME - 1]);
        assert_eq!(decoder.next_frame(), Ok(None));
        push(&mut decoder, &[9]);
        assert_eq!(
            decoder.next_frame().expect("valid").map(<[u8]>::len),
            Some(MAX_FRAME)
        );
    }

    #[test]
    fn encode_keeps_to_its_limit() {
        let mut out = Vec::new();
        assert!(encode(&[1; 10], &mut out, 24));
        assert!(!encode(&[1; 11], &mut out, 24), "12 + 13 bytes pass 24");
        assert!(encode(&[1; 10], &mut out, 24));
        assert_eq!(out.len(), 24);
        assert!(!encode(&[], &mut out, usize::MAX));
        assert!(!encode(
            &vec![0; MAX_FRAME + 1],
            &mut Vec::new(),
            usize::MAX
        ));
    }
}
