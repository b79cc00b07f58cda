// The browser side of the classroom wire protocol (docs/PROTOCOL.md; Rust side:
// signaling/src/protocol.rs). Signalling only: no DOM, no WebRTC, no UI.

/** The protocol version this client speaks (`join.version`). */
export const PROTOCOL_VERSION = 1;

/** Every message type the server may send; each is re-emitted as an event of the same name. */
export const SERVER_MESSAGE_TYPES = Object.freeze([
  'welcome',
  'answer',
  'offer',
  'track_added',
  'track_removed',
  'participant_joined',
  'participant_left',
  'participant_updated',
  'error',
  'bye',
  'pong',
  // Classroom control (docs/PROTOCOL.md); the UI for them comes later, the wire is ready.
  'resumed',
  'rights',
  'settings',
  'hands',
  'chat',
  'lobby_waiting',
  'lobby',
  'reconnecting',
  'reconnected',
]);

/** Error codes after which the server closes the socket: the session cannot go on. */
export const FATAL_ERROR_CODES = Object.freeze(
  new Set([
    'unsupported_version',
    'no_such_room',
    'bad_token',
    'token_expired',
    'room_full',
    'room_locked',
    'barred',
    'denied',
    'lobby_full',
    'message_too_large',
  ]),
);

/** The signalling socket URL for a page at `location`: same host, `wss:` under HTTPS. */
export function socketUrl(location) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

/**
 * One signalling session over a WebSocket.
 *
 * Events (all `CustomEvent`s, the message object in `detail`):
 * - one per server message type (`welcome`, `offer`, `error`, …);
 * - `socket-open` once the socket is open;
 * - `socket-close` with `{code, reason, wasClean}` when it closes, for whatever reason;
 * - `protocol-violation` with `{raw, problem}` for a frame that is not a known message.
 */
export class ClassroomConnection extends EventTarget {
  #url;
  #ws = null;
  #pingTimer = null;
  #pingIntervalMs;

  /**
   * @param {string} url the `/ws` URL (see `socketUrl`)
   * @param {{pingIntervalMs?: number}} [options] keep-alive period; 0 turns pings off
   */
  constructor(url, { pingIntervalMs = 20_000 } = {}) {
    super();
    this.#url = url;
    this.#pingIntervalMs = pingIntervalMs;
  }

  /** True while the socket is open. */
  get isOpen() {
    return this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Opens the socket; resolves once it is open, rejects if it closes first. */
  open() {
    if (this.#ws) return Promise.reject(new Error('ClassroomConnection.open called twice'));
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    ws.addEventListener('message', (event) => this.#receive(event.data));
    ws.addEventListener('close', (event) => {
      this.#stopPings();
      this.#emit('socket-close', { code: event.code, reason: event.reason, wasClean: event.wasClean });
    });
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => {
        this.#startPings();
        this.#emit('socket-open', {});
        resolve();
      });
      ws.addEventListener('close', (event) => {
        reject(new Error(`the signalling socket closed before it opened (code ${event.code})`));
      });
    });
  }

  /** Subscribes `handler(message)` to one event type; returns the unsubscribe function. */
  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /** `join`: the first message. Sent again after a `bad_name` error. */
  join({ room, token, name }) {
    this.#send({ type: 'join', version: PROTOCOL_VERSION, room, token, name });
  }

  /** `offer`: the client's (re)negotiation offer. */
  sendOffer(sdp) {
    this.#send({ type: 'offer', sdp });
  }

  /** `answer`: the answer to the server's last `offer`. */
  sendAnswer(sdp) {
    this.#send({ type: 'answer', sdp });
  }

  /** `media_state`: the mic and camera are on (`true`) or off. */
  sendMediaState({ audio, video }) {
    this.#send({ type: 'media_state', audio: Boolean(audio), video: Boolean(video) });
  }

  /** `leave`: the server answers `bye` and closes. */
  leave() {
    this.#send({ type: 'leave' });
  }

  /** `ping`: the server answers `pong`. */
  ping() {
    this.#send({ type: 'ping' });
  }

  /** Closes the socket from this side (normally the server closes after `bye`). */
  close(code = 1000, reason = '') {
    this.#stopPings();
    if (this.#ws && this.#ws.readyState <= WebSocket.OPEN) this.#ws.close(code, reason);
  }

  #send(message) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  #receive(raw) {
    if (typeof raw !== 'string') {
      this.#emit('protocol-violation', { raw, problem: 'binary frame' });
      return;
    }
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      this.#emit('protocol-violation', { raw, problem: 'not JSON' });
      return;
    }
    if (message === null || typeof message !== 'object' || !SERVER_MESSAGE_TYPES.includes(message.type)) {
      this.#emit('protocol-violation', { raw, problem: 'unknown message type' });
      return;
    }
    this.#emit(message.type, message);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #startPings() {
    if (this.#pingIntervalMs > 0) this.#pingTimer = setInterval(() => this.ping(), this.#pingIntervalMs);
  }

  #stopPings() {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }
}
