// The relays (TURN) the media connection may use, as the server hands them out in `welcome`,
// `resumed` and `ice_servers` (docs/PROTOCOL.md), kept fresh before their credentials expire.
// No DOM, no WebRTC here: `app.js` applies them to the RTCPeerConnection.

/** Ask for new credentials when this share of their validity has passed. */
const REFRESH_AT = 0.75;
/** Never ask more often than this, whatever the server says (a bound on our own traffic). */
const MIN_REFRESH_MS = 30_000;

/**
 * `iceTransportPolicy` from the page address: `?ice=relay` sends media only through the relays.
 * It is there for IT staff checking that the relay works from a network (and for the tests): a
 * class that connects with it connects through the relay or not at all.
 */
export function iceTransportPolicyFrom(location) {
  return new URLSearchParams(location.search).get('ice') === 'relay' ? 'relay' : 'all';
}

/**
 * The current relay list. `update(message)` takes what the server sent; `onChange(servers)` is
 * called with the new list, and `requestFresh()` before the credentials in it expire.
 */
export class Relays {
  /** RTCIceServer[]: empty when the server has no relay. */
  servers = [];

  #requestFresh;
  #onChange;
  #timer = null;

  /** @param {{requestFresh: () => void, onChange: (servers: object[]) => void}} hooks */
  constructor({ requestFresh, onChange }) {
    this.#requestFresh = requestFresh;
    this.#onChange = onChange;
  }

  /** Takes `ice_servers` and `ice_servers_valid_secs` from a server message. */
  update(message) {
    const servers = Array.isArray(message.ice_servers) ? message.ice_servers : [];
    this.servers = servers;
    this.#onChange(servers);
    clearTimeout(this.#timer);
    this.#timer = null;
    const validSecs = Number(message.ice_servers_valid_secs);
    if (servers.length > 0 && Number.isFinite(validSecs) && validSecs > 0) {
      const delay = Math.max(MIN_REFRESH_MS, validSecs * 1000 * REFRESH_AT);
      this.#timer = setTimeout(() => this.#requestFresh(), delay);
    }
  }

  /** Stops asking (the class is over for us). */
  stop() {
    clearTimeout(this.#timer);
    this.#timer = null;
  }
}
