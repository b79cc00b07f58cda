// A connection-quality mark per participant, from the peer connection's own statistics: the loss
// and jitter of what we receive from each of them, and for ourselves the loss and round-trip time
// the server reports back about what we send. Pure functions plus one polling loop; no DOM.

/** How often the statistics are read. */
export const QUALITY_INTERVAL_MS = 2000;

/** Loss fraction / jitter (s) / round trip (s) at which the mark drops to fair, then poor. */
const FAIR = { loss: 0.02, jitter: 0.03, rtt: 0.3 };
const POOR = { loss: 0.08, jitter: 0.1, rtt: 0.8 };

/**
 * The mark for one measurement window: 'good' | 'fair' | 'poor', or 'unknown' when nothing was
 * expected (no packets either way: a muted mic, a camera off).
 *
 * @param {{received: number, lost: number, jitter?: number, rtt?: number}} window
 */
export function rate({ received, lost, jitter = 0, rtt = 0 }) {
  const expected = received + Math.max(0, lost);
  if (expected === 0 && rtt === 0) return 'unknown';
  const loss = expected === 0 ? 0 : Math.max(0, lost) / expected;
  if (loss >= POOR.loss || jitter >= POOR.jitter || rtt >= POOR.rtt) return 'poor';
  if (loss >= FAIR.loss || jitter >= FAIR.jitter || rtt >= FAIR.rtt) return 'fair';
  return 'good';
}

/** The worse of two marks ('unknown' loses to anything measured). */
export function worse(a, b) {
  const order = ['unknown', 'good', 'fair', 'poor'];
  return order[Math.max(order.indexOf(a), order.indexOf(b))];
}

/**
 * Reads `pc`'s statistics every QUALITY_INTERVAL_MS and calls `onMarks(Map<participantId, mark>)`,
 * where `self` is our own uplink. `tracks` maps a receiving mid to `{participant}`. Returns a stop
 * function.
 */
export function watchQuality(pc, tracks, selfId, onMarks) {
  let previous = new Map();
  let stopped = false;
  const tick = async () => {
    if (stopped || pc.connectionState === 'closed') return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const current = new Map();
    const marks = new Map();
    const midByTrack = new Map();
    for (const t of pc.getTransceivers()) if (t.mid !== null) midByTrack.set(t.receiver.track.id, t.mid);
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        const mid = s.mid ?? midByTrack.get(s.trackIdentifier);
        const who = tracks.get(mid)?.participant;
        if (!who) return;
        const key = `in:${s.id}`;
        current.set(key, { received: s.packetsReceived ?? 0, lost: s.packetsLost ?? 0 });
        const before = previous.get(key) ?? { received: 0, lost: 0 };
        const mark = rate({
          received: (s.packetsReceived ?? 0) - before.received,
          lost: (s.packetsLost ?? 0) - before.lost,
          jitter: s.jitter ?? 0,
        });
        marks.set(who, worse(marks.get(who) ?? 'unknown', mark));
      } else if (s.type === 'remote-inbound-rtp') {
        // What the server received from us, as its receiver reports say.
        const mark = rate({ received: 1, lost: 0, rtt: s.roundTripTime ?? 0 });
        const loss = s.fractionLost ?? 0;
        const fromLoss = loss >= POOR.loss ? 'poor' : loss >= FAIR.loss ? 'fair' : 'good';
        marks.set(selfId, worse(marks.get(selfId) ?? 'unknown', worse(mark, fromLoss)));
      }
    });
    previous = current;
    onMarks(marks);
  };
  const timer = setInterval(tick, QUALITY_INTERVAL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
