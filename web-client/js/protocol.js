// The browser side of the classroom wire protocol (docs/PROTOCOL.md; Rust side:
// signaling/src/protocol/). Signalling only: no DOM, no WebRTC, no UI.

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
  'rights',
  'settings',
  'hands',
  'chat',
  'lobby_waiting',
  'lobby',
  'reconnecting',
  'reconnected',
  'resumed',
  'active_speaker',
  'video_paused',
  'video_resumed',
  'error',
  'bye',
  'pong',
  'ice_servers',
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

/**
 * The teacher's actions, by message type, with the field naming their target participant (or
 * null). The server checks every one; the client only offers them to teachers.
 */
export const TEACHER_ACTIONS = Object.freeze({
  mute: 'participant',
  mute_all: null,
  camera_off: 'participant',
  stop_screen: 'participant',
  kick: 'participant',
  give_floor: 'participant',
  take_floor: 'participant',
  promote: 'participant',
  demote: 'participant',
  admit: 'participant',
  deny: 'participant',
  lower_all_hands: null,
  end_class: null,
});

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

  /**
   * `join`: the first message. Sent again after a `bad_name` error. `device` is this browser's
   * random id (kept in its storage), so that a teacher's "kick and bar" also holds on a shared link.
   */
  join({ room, token, name, device }) {
    this.#send({ type: 'join', version: PROTOCOL_VERSION, room, token, name, device });
  }

  /** `resume`: instead of `join` after the socket dropped; the server replays missed chat. */
  resume({ room, token, lastChatSeq }) {
    this.#send({ type: 'resume', version: PROTOCOL_VERSION, room, token, last_chat_seq: lastChatSeq });
  }

  /** `offer`: the client's (re)negotiation offer; `sources` maps a mid to mic/camera/screen. */
  sendOffer(sdp, sources = {}) {
    this.#send({ type: 'offer', sdp, sources });
  }

  /** `raise_hand` / `lower_hand` (own hand; a teacher may name a participant). */
  raiseHand() {
    this.#send({ type: 'raise_hand' });
  }

  lowerHand(participant = null) {
    this.#send(participant === null ? { type: 'lower_hand' } : { type: 'lower_hand', participant });
  }

  /** `chat`: a message to the whole class. */
  sendChat(text) {
    this.#send({ type: 'chat', text });
  }

  /** A teacher action of TEACHER_ACTIONS, with its target if it has one, and extra fields. */
  teacherAction(type, participant = null, extra = {}) {
    if (!(type in TEACHER_ACTIONS)) throw new Error(`not a teacher action: ${type}`);
    const field = TEACHER_ACTIONS[type];
    this.#send({ type, ...(field ? { [field]: participant } : {}), ...extra });
  }

  /** `set_settings`: the class settings a teacher changes (any subset). */
  setSettings(patch) {
    this.#send({ type: 'set_settings', ...patch });
  }

  /** `answer`: the answer to the server's last `offer`. */
  sendAnswer(sdp) {
    this.#send({ type: 'answer', sdp });
  }

  /** Asks for `quality` ('low' | 'medium' | 'high') of `participant`'s video; false if not sent. */
  sendVideoQuality(participant, quality) {
    return this.#send({ type: 'video_quality', participant, quality });
  }

  /** `media_state`: the mic, camera and screen share are on (`true`) or off. */
  sendMediaState({ audio, video, screen = false }) {
    this.#send({ type: 'media_state', audio: Boolean(audio), video: Boolean(video), screen: Boolean(screen) });
  }

  /** Asks for fresh relay credentials (answered with `ice_servers`). */
  requestIceServers() {
    return this.#send({ type: 'ice_servers' });
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
