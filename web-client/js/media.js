// Local devices and the one RTCPeerConnection to the server, negotiated as docs/PROTOCOL.md says:
// the client offers what it publishes, the server offers what it forwards, one offer per direction
// at a time. No DOM here; the UI listens to the events of `MediaSession`.

const KINDS = ['audio', 'video'];

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24, max: 30 } };

/**
 * The camera is sent as two simulcast layers, lowest first (the server ranks them in this order):
 * one at half the width and height for thumbnails and weak links, and the full one for the stage.
 */
const CAMERA_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 2, maxBitrate: 150_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 700_000 },
];

function constraintsFor(kind, deviceId) {
  const base = kind === 'video' ? { ...VIDEO_CONSTRAINTS } : {};
  if (deviceId) base.deviceId = { exact: deviceId };
  return Object.keys(base).length > 0 ? base : true;
}

/**
 * Why local media is (partly) missing: `insecure` (no getUserMedia outside HTTPS), `unsupported`,
 * `denied`, `not-found`, `in-use` or `other`, for the UI to explain.
 */
export function mediaProblem(error) {
  if (!globalThis.isSecureContext) return 'insecure';
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return 'unsupported';
  switch (error && error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'not-found';
    case 'NotReadableError':
    case 'AbortError':
      return 'in-use';
    default:
      return 'other';
  }
}

/** Opens one track of `kind` ('audio' | 'video'), from `deviceId` if given. Throws like getUserMedia. */
export async function openTrack(kind, deviceId) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error('getUserMedia is not available'), { name: 'NotSupportedError' });
  }
  const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId) });
  return stream.getTracks()[0];
}

/**
 * Opens the microphone and camera. Never throws: what could not be opened is missing from the
 * returned `stream`, and `error` is the first failure (or null).
 *
 * @param {{audio?: string, video?: string}} [deviceIds]
 * @returns {Promise<{stream: MediaStream, error: Error | null}>}
 */
export async function openLocalMedia(deviceIds = {}) {
  const stream = new MediaStream();
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream, error: Object.assign(new Error('getUserMedia is not available'), { name: 'NotSupportedError' }) };
  }
  try {
    const both = await navigator.mediaDevices.getUserMedia({
      audio: constraintsFor('audio', deviceIds.audio),
      video: constraintsFor('video', deviceIds.video),
    });
    for (const track of both.getTracks()) stream.addTrack(track);
    return { stream, error: null };
  } catch (bothFailed) {
    // One device may still work (a laptop without camera, a camera in use): try each alone.
    let error = null;
    for (const kind of KINDS) {
      try {
        stream.addTrack(await openTrack(kind, deviceIds[kind]));
      } catch (failed) {
        error ??= failed;
      }
    }
    return { stream, error: error ?? bothFailed };
  }
}

/** The cameras and microphones, once the page has permission (else labels are empty). */
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return { audio: [], video: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    audio: devices.filter((d) => d.kind === 'audioinput' && d.deviceId !== ''),
    video: devices.filter((d) => d.kind === 'videoinput' && d.deviceId !== ''),
  };
}

/**
 * The SDP we send, minus host candidates hidden behind mDNS names: the server is ICE-lite and
 * learns our address from our connectivity checks, and it cannot resolve `.local` names anyway.
 */
function sdpForServer(sdp) {
  return sdp
    .split('\r\n')
    .filter((line) => !/^a=candidate:\S+ \d+ \S+ \d+ \S+\.local /i.test(line))
    .join('\r\n');
}

/**
 * The peer connection to the server, and the map from receiving mid to whose track it carries.
 *
 * Events (`CustomEvent`, data in `detail`):
 * - `track` `{mid, participant, kind, track}`: a remote track is ready to be shown or played;
 * - `track-ended` `{mid, participant, kind, track}`: that track ended (publisher left, mid reused);
 * - `connection-state` `{state}`: the RTCPeerConnection's connectionState changed;
 * - `negotiation-error` `{error}`: applying or creating a description failed.
 */
export class MediaSession extends EventTarget {
  /** The RTCPeerConnection (read by the tests through `window.classroom.pc`). */
  pc;
  /** mid → {participant, kind, track}: filled by `track_added`, `track` set once it is received. */
  tracks = new Map();

  #signal;
  #stream;
  #log;
  // Negotiation work runs one step at a time, in arrival order.
  #chain = Promise.resolve();
  #offerSeq = 0;
  // The offer in have-local-offer state (0: none), and the offers the server has not replied to,
  // oldest first: the server replies to each, in order, with `answer` or an error.
  #currentOffer = 0;
  #awaitingReply = [];
  #needOffer = false;
  #retryTimer = null;
  #closed = false;
  /** Our sending transceivers by source ('mic' | 'camera' | 'screen'), for the offer's `sources`. */
  #publishing = {};

  /**
   * `iceServers` are the relays from the server (none: the server's own address only, never a
   * third party's STUN); `iceTransportPolicy` 'relay' uses nothing but them (`?ice=relay`).
   *
   * @param {{signal: {sendOffer(sdp: string, sources: object): void, sendAnswer(sdp: string): void},
   *          stream: MediaStream, iceServers?: object[], iceTransportPolicy?: string, log?: Console}} options
   */
  constructor({ signal, stream, iceServers = [], iceTransportPolicy = 'all', log = console }) {
    super();
    this.#signal = signal;
    this.#stream = stream;
    this.#log = log;
    this.pc = new RTCPeerConnection({ iceServers, iceTransportPolicy });
    this.pc.addEventListener('track', (event) => this.#onTrack(event));
    this.pc.addEventListener('connectionstatechange', () =>
      this.#emit('connection-state', { state: this.pc.connectionState }),
    );
  }

  /** Adds the publishing transceivers (inactive for a missing device) and sends the first offer. */
  start() {
    for (const kind of KINDS) {
      const track = this.#stream.getTracks().find((t) => t.kind === kind);
      this.#publishing[kind === 'audio' ? 'mic' : 'camera'] = this.pc.addTransceiver(track ?? kind, {
        direction: track ? 'sendonly' : 'inactive',
        streams: [this.#stream],
        ...(kind === 'video' ? { sendEncodings: CAMERA_LAYERS } : {}),
      });
    }
    this.#enqueue('initial offer', () => this.#sendOffer());
  }

  /**
   * Publishes `track` (from getDisplayMedia) as our screen share, beside the camera; the
   * transceiver is kept and reused for the next share.
   */
  async startScreen(track) {
    const existing = this.#publishing.screen;
    if (existing) {
      await existing.sender.replaceTrack(track);
      existing.direction = 'sendonly';
    } else {
      this.#publishing.screen = this.pc.addTransceiver(track, { direction: 'sendonly' });
    }
    this.renegotiate();
  }

  /** Stops publishing the screen share (the m-line goes inactive, ready for the next one). */
  async stopScreen() {
    const screen = this.#publishing.screen;
    if (!screen || screen.direction === 'inactive') return;
    await screen.sender.replaceTrack(null);
    screen.direction = 'inactive';
    this.renegotiate();
  }

  /**
   * Fresh relay credentials: the next candidate gathering (an ICE restart) uses them. A relay
   * checks credentials only when an allocation is made, so the ones in use keep working.
   */
  setIceServers(iceServers) {
    if (this.#closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
    } catch (error) {
      this.#log.warn('classroom: the relay list was refused:', error.message);
    }
  }

  /** After the network changed or the socket came back: new ICE credentials, same session. */
  restartIce() {
    this.pc.restartIce();
    this.renegotiate();
  }

  /** Offers again (after a change to what we publish); deferred while an offer is pending. */
  renegotiate() {
    this.#enqueue('renegotiation', async () => {
      if (this.pc.signalingState === 'stable') await this.#sendOffer();
      else this.#needOffer = true;
    });
  }

  /** Server `track_added`: the m-line `mid` will carry `participant`'s `kind` track of `source`. */
  trackAdded({ mid, participant, kind, source }) {
    const previous = this.tracks.get(mid);
    if (previous && previous.track) this.#emit('track-ended', { mid, ...previous });
    const fallback = kind === 'audio' ? 'mic' : 'camera';
    this.tracks.set(mid, { participant, kind, source: source ?? fallback, track: null });
    // A reused m-line that keeps receiving fires no new `track` event: attach what is there now.
    this.#reconcile();
  }

  /** Server `track_removed`. */
  trackRemoved({ mid }) {
    const entry = this.tracks.get(mid);
    this.tracks.delete(mid);
    if (entry && entry.track) this.#emit('track-ended', { mid, ...entry });
  }

  /** Server `offer`: apply it (rolling back a crossing offer of ours), answer, re-offer if needed. */
  handleOffer({ sdp }) {
    this.#enqueue('server offer', async () => {
      if (this.pc.signalingState === 'have-local-offer') {
        // Our offer crossed the server's: the server rejects ours (renegotiation_busy); we answer
        // first and offer again afterwards.
        await this.pc.setLocalDescription({ type: 'rollback' });
        this.#currentOffer = 0;
        this.#needOffer = true;
      }
      await this.pc.setRemoteDescription({ type: 'offer', sdp });
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      this.#signal.sendAnswer(sdpForServer(this.pc.localDescription.sdp));
      this.#reconcile();
      if (this.#needOffer) await this.#sendOffer();
    });
  }

  /** Server `answer` to our offer. */
  handleAnswer({ sdp }) {
    this.#enqueue('server answer', async () => {
      const seq = this.#awaitingReply.shift();
      if (seq === undefined || seq !== this.#currentOffer || this.pc.signalingState !== 'have-local-offer') {
        this.#log.warn('classroom: ignoring an answer to an offer that was rolled back');
        return;
      }
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      this.#currentOffer = 0;
      this.#reconcile();
      if (this.#needOffer) await this.#sendOffer();
    });
  }

  /** Server `error` `renegotiation_busy`: our offer crossed the server's; offer again after it. */
  handleBusy() {
    this.#enqueue('renegotiation busy', async () => {
      const seq = this.#awaitingReply.shift();
      if (seq === undefined || seq !== this.#currentOffer) return; // Already rolled back and re-offered.
      if (this.pc.signalingState === 'have-local-offer') await this.pc.setLocalDescription({ type: 'rollback' });
      this.#currentOffer = 0;
      this.#needOffer = true;
      // The server's offer is normally on its way and triggers the new offer once answered; if it
      // is not, offer again anyway.
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        this.#enqueue('offer retry', async () => {
          if (this.#needOffer && this.pc.signalingState === 'stable') await this.#sendOffer();
        });
      }, 1000);
    });
  }

  /** Server `error` refusing an offer (`bad_sdp`, `too_many_tracks`, ...): if ours is pending, it was refused. */
  handleOfferRefused() {
    this.#enqueue('offer refused', async () => {
      if (this.pc.signalingState !== 'have-local-offer') return;
      this.#awaitingReply.shift();
      await this.pc.setLocalDescription({ type: 'rollback' });
      this.#currentOffer = 0;
    });
  }

  /** The local track of `kind`, if any. */
  localTrack(kind) {
    return this.#stream.getTracks().find((t) => t.kind === kind) ?? null;
  }

  /** Closes the peer connection (local tracks are the caller's to stop). */
  close() {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.pc.close();
  }

  async #sendOffer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.#offerSeq += 1;
    this.#currentOffer = this.#offerSeq;
    this.#awaitingReply.push(this.#offerSeq);
    this.#needOffer = false;
    this.#signal.sendOffer(sdpForServer(this.pc.localDescription.sdp), this.#sources());
  }

  /** mid → source of what we publish, so the server knows a screen from a camera. */
  #sources() {
    const sources = {};
    for (const [source, transceiver] of Object.entries(this.#publishing)) {
      if (transceiver.mid !== null) sources[transceiver.mid] = source;
    }
    return sources;
  }

  #enqueue(what, step) {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      try {
        await step();
      } catch (error) {
        this.#log.error(`classroom: negotiation step "${what}" failed`, error);
        this.#emit('negotiation-error', { error });
      }
    });
  }

  #onTrack(event) {
    const mid = event.transceiver.mid;
    const entry = this.tracks.get(mid);
    if (!entry) {
      // The server announces every mid before offering it; attach later if it ever comes late.
      this.#log.warn(`classroom: received a track on mid ${mid} that no track_added announced`);
      return;
    }
    this.#attach(mid, entry, event.track);
  }

  // Attaches every announced mid whose transceiver is receiving and whose track is not attached yet.
  #reconcile() {
    for (const transceiver of this.pc.getTransceivers()) {
      const entry = transceiver.mid === null ? undefined : this.tracks.get(transceiver.mid);
      if (!entry) continue;
      const receiving = transceiver.currentDirection === 'recvonly' || transceiver.currentDirection === 'sendrecv';
      if (receiving && entry.track !== transceiver.receiver.track) {
        this.#attach(transceiver.mid, entry, transceiver.receiver.track);
      }
    }
  }

  #attach(mid, entry, track) {
    if (entry.track === track) return;
    if (entry.track) this.#emit('track-ended', { mid, ...entry });
    entry.track = track;
    this.#emit('track', { mid, ...entry });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
