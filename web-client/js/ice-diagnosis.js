// Why the audio and video connection failed, read from the RTCPeerConnection itself (its stats and
// the candidates of both descriptions) rather than guessed: the page then tells the user what
// actually went wrong. No DOM; `diagnose` is a pure function (tested in plain Node).

/** A loopback address (127.0.0.0/8, ::1): reachable only from the same machine, and some browsers never use it. */
export function isLoopback(address) {
  return /^127\./.test(address) || address === '::1' || address === '[::1]';
}

/** The `{protocol, address, port}` of each `a=candidate` line of `sdp`. */
export function candidatesOf(sdp) {
  const found = [];
  for (const line of (sdp ?? '').split(/\r?\n/)) {
    // a=candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...
    const match = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ /i.exec(line);
    if (match) found.push({ protocol: match[1].toLowerCase(), address: match[2], port: Number(match[3]) });
  }
  return found;
}

/**
 * What failed, from what the browser gathered (`local`: its own candidates), what the server
 * announced (`remote`: `{protocol, address, port}`), and the candidate pairs the browser formed
 * (`pairs`: `{state, requestsSent?, responsesReceived?}`). Returns `{reason, server}`, `server`
 * naming the server's media address(es) ("UDP 192.0.2.2:40000"), `reason` one of:
 * - `no-local-address`: the browser gathered no address of its own to send from;
 * - `loopback-only`: the server announced only loopback addresses and the browser paired none of
 *   its own with them (Firefox gathers no loopback candidates);
 * - `no-pair`: no pair formed for another reason (no common protocol or address family);
 * - `no-answer`: the browser sent checks to the server's media port and none was answered;
 * - `lost`: a pair worked, and the connection was lost afterwards.
 */
export function diagnose({ local, remote, pairs }) {
  const server = remote.map((c) => `${c.protocol.toUpperCase()} ${c.address}:${c.port}`).join(', ') || '?';
  if (pairs.some((p) => p.state === 'succeeded' || p.nominated === true)) return { reason: 'lost', server };
  if (pairs.length > 0) return { reason: 'no-answer', server };
  if (local.length === 0) return { reason: 'no-local-address', server };
  if (remote.length > 0 && remote.every((c) => isLoopback(c.address)) && !local.some((c) => isLoopback(c.address))) {
    return { reason: 'loopback-only', server };
  }
  return { reason: 'no-pair', server };
}

/** Reads `pc`'s stats and descriptions and returns `diagnose`'s verdict. */
export async function diagnoseConnection(pc) {
  const local = [];
  const pairs = [];
  const report = await pc.getStats();
  report.forEach((s) => {
    if (s.type === 'local-candidate') local.push({ protocol: s.protocol ?? '', address: s.address ?? s.ip ?? '' });
    if (s.type === 'candidate-pair') {
      pairs.push({ state: s.state, nominated: s.nominated, requestsSent: s.requestsSent, responsesReceived: s.responsesReceived });
    }
  });
  // A browser that reports no candidate stats still lists what it gathered in its own description.
  if (local.length === 0) local.push(...candidatesOf(pc.localDescription?.sdp));
  const remote = uniqueByAddress(candidatesOf(pc.remoteDescription?.sdp));
  return diagnose({ local, remote, pairs });
}

function uniqueByAddress(candidates) {
  const seen = new Map();
  for (const c of candidates) seen.set(`${c.protocol} ${c.address} ${c.port}`, c);
  return [...seen.values()];
}
