// The network self-test's wire and WebRTC part (docs/PROTOCOL.md, "Network self-test"), kept apart
// from the page: one WebSocket to /ws, then one RTCPeerConnection per transport, each kept to that
// transport alone, and the server's verdict on whether media reached it.

/** Bounds of the waits on this side (the server's own probe deadline comes in `check_ready`). */
const OPEN_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 10_000;
const GATHER_TIMEOUT_MS = 5_000;
/** Slack after the server's deadline for its `check_result` to arrive. */
const RESULT_SLACK_MS = 5_000;

/** The verdicts a line can end with. */
export const Verdict = Object.freeze({
  WORKS: 'works',
  BLOCKED: 'blocked',
  NOT_OFFERED: 'not_offered',
  NOT_TESTED: 'not_tested',
});

/** Where the page's WebSocket goes: the same host, `wss:` under HTTPS. */
export function socketUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * The server candidates of `sdp` of one transport: `udp`, or `tcp` (only `tcptype passive`, the
 * ones a browser can connect to). Returns the SDP with every other candidate removed, and what
 * was kept (`{address, port}`).
 */
export function keepCandidates(sdp, transport) {
  const kept = [];
  const lines = sdp.split(/\r\n|\n/).filter((line) => {
    if (!line.startsWith('a=candidate:')) return true;
    // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
    const fields = line.slice('a=candidate:'.length).split(/\s+/);
    const protocol = (fields[2] ?? '').toLowerCase();
    const passive = /\btcptype\s+passive\b/i.test(line);
    const keep = protocol === transport && (transport !== 'tcp' || passive);
    if (keep && !kept.some((c) => c.address === fields[4] && c.port === fields[5])) {
      kept.push({ address: fields[4], port: fields[5] });
    }
    return keep;
  });
  return { sdp: lines.join('\r\n'), kept };
}

/** Whether the local description holds a relay candidate (the TURN server answered). */
export function hasRelayCandidate(sdp) {
  return /^a=candidate:.* typ relay/m.test(sdp);
}

/** One WebSocket speaking the check messages; `wait` resolves on the first message `match` takes. */
export class CheckChannel {
  constructor(url) {
    this.url = url;
    this.socket = null;
    this.waiters = new Set();
    this.errors = [];
  }

  /** Opens the socket; resolves true once open, false if it could not be opened in time. */
  open() {
    return new Promise((resolve) => {
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch {
        resolve(false);
        return;
      }
      this.socket = socket;
      const timer = setTimeout(() => {
        socket.close();
        resolve(false);
      }, OPEN_TIMEOUT_MS);
      socket.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.addEventListener('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      socket.addEventListener('message', (event) => this.dispatch(event.data));
      socket.addEventListener('close', () => {
        for (const waiter of this.waiters) waiter({ type: 'closed' });
      });
    });
  }

  dispatch(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'error') this.errors.push(message);
    for (const waiter of this.waiters) waiter(message);
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** The first message `match` returns a value for (or a `closed`/`error` one), within `ms`. */
  wait(match, ms) {
    return new Promise((resolve) => {
      const done = (value) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(value);
      };
      const waiter = (message) => {
        if (message.type === 'closed') return done({ closed: true });
        if (message.type === 'error' && message.code === 'too_many_checks') return done({ error: message });
        const value = match(message);
        if (value !== undefined) done(value);
      };
      const timer = setTimeout(() => done({ timedOut: true }), ms);
      this.waiters.add(waiter);
    });
  }

  close() {
    this.socket?.close();
  }
}

/** Resolves once `pc` has gathered its candidates (no trickle: the offer carries them), or in time. */
function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * Asks the server for a probe of `transport` (`udp`, `tcp` or `relay`). Ask one at a time: the
 * server answers each `check` before the next, and a refusal (an `error`) names no probe.
 * Resolves to `{ready}` (the `check_ready`), or to the line's verdict when there is nothing to try.
 */
export async function reserve(channel, transport) {
  channel.send({ type: 'check', transport });
  const reply = await channel.wait((m) => {
    if (m.type === 'check_ready' && m.transport === transport) return { ready: m };
    if (m.type === 'check_result' && m.transport === transport) return { result: m };
    return undefined;
  }, READY_TIMEOUT_MS);
  if (reply.ready) return reply;
  if (reply.result) return { verdict: Verdict.NOT_OFFERED, reason: reply.result.outcome };
  if (reply.error) return { verdict: Verdict.NOT_TESTED, reason: 'busy', message: reply.error.message };
  return { verdict: Verdict.NOT_TESTED, reason: 'no_answer' };
}

/**
 * Tries media over the transport of `ready` (a `check_ready`). Resolves to `{verdict, where,
 * reason}`: `where` is the server address tested (`address:port`) or the relay's URLs; `reason`
 * a word for the page's explanation.
 */
export async function run(channel, ready) {
  const { probe: id, transport, seconds, ice_servers: iceServers } = ready;
  const relay = transport === 'relay';
  const where = relay ? iceServers.flatMap((s) => s.urls).join(', ') : '';
  const pc = new RTCPeerConnection({
    iceServers: relay ? iceServers : [],
    iceTransportPolicy: relay ? 'relay' : 'all',
  });
  try {
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (relay && !hasRelayCandidate(pc.localDescription.sdp)) {
      return { verdict: Verdict.BLOCKED, where, reason: 'relay_unreachable' };
    }
    channel.send({ type: 'check_offer', probe: id, sdp: pc.localDescription.sdp });
    const waitMs = seconds * 1000 + RESULT_SLACK_MS;
    const answer = await channel.wait((m) => (m.type === 'check_answer' && m.probe === id ? m : undefined), waitMs);
    if (!answer.sdp) return { verdict: Verdict.NOT_TESTED, reason: 'no_answer' };
    let remote = answer.sdp;
    let tested = where;
    if (!relay) {
      const { sdp, kept } = keepCandidates(answer.sdp, transport);
      if (kept.length === 0) return { verdict: Verdict.NOT_OFFERED, reason: 'no_candidate' };
      remote = sdp;
      tested = kept.map((c) => `${c.address}:${c.port}`).join(', ');
    }
    const result = channel.wait((m) => (m.type === 'check_result' && m.probe === id ? m : undefined), waitMs);
    await pc.setRemoteDescription({ type: 'answer', sdp: remote });
    const outcome = await result;
    if (outcome.outcome === 'connected') return { verdict: Verdict.WORKS, where: tested };
    if (outcome.closed) return { verdict: Verdict.NOT_TESTED, reason: 'no_answer' };
    return { verdict: Verdict.BLOCKED, where: tested, reason: outcome.outcome ?? 'timed_out' };
  } catch (error) {
    console.warn(`network check (${transport}): ${error}`);
    return { verdict: Verdict.BLOCKED, where, reason: 'browser_error' };
  } finally {
    pc.close();
  }
}
