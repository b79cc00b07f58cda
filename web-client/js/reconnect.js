// Bringing a class back after the signalling socket dropped (Wi-Fi hiccup, laptop lid, a proxy
// restart): retry with growing delays for as long as the server keeps our place (its grace
// period), sending `resume` on each new socket; give up after that.

/** The server keeps a dropped participant this long (signaling: class grace period). */
export const GRACE_MS = 30_000;
/** Delays between attempts: quick at first (most drops are short), then spaced out. */
export const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 3000, 5000];

/** The delay before attempt `n` (0-based), capped at the last one. */
export function retryDelay(n) {
  return RETRY_DELAYS_MS[Math.min(n, RETRY_DELAYS_MS.length - 1)];
}

export class Reconnector {
  #connect;
  #resume;
  #onWaiting;
  #onGiveUp;
  #timer = null;
  #deadline = 0;
  #attempt = 0;
  /** True from a drop until `succeeded()` or giving up. */
  active = false;

  /**
   * @param {{connect: () => Promise<object>, resume: (connection: object) => void,
   *   onWaiting: (waiting: boolean) => void, onGiveUp: () => void}} hooks
   */
  constructor({ connect, resume, onWaiting, onGiveUp }) {
    this.#connect = connect;
    this.#resume = resume;
    this.#onWaiting = onWaiting;
    this.#onGiveUp = onGiveUp;
  }

  /** The socket dropped (or a retry's socket did): try again, unless the grace period is over. */
  start(now = Date.now()) {
    if (!this.active) {
      this.active = true;
      this.#attempt = 0;
      this.#deadline = now + GRACE_MS;
      this.#onWaiting(true);
    }
    if (this.#timer !== null) return;
    if (now >= this.#deadline) {
      this.stop();
      this.#onGiveUp();
      return;
    }
    const delay = retryDelay(this.#attempt);
    this.#attempt += 1;
    this.#timer = setTimeout(() => this.#try(), delay);
  }

  /** The server answered `resumed` (or we joined afresh): stop retrying. */
  succeeded() {
    if (!this.active) return;
    this.stop();
    this.#onWaiting(false);
  }

  /** Stops retrying without a word (the session ended anyway). */
  stop() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.active = false;
  }

  async #try() {
    this.#timer = null;
    if (!this.active) return;
    try {
      const connection = await this.#connect();
      this.#resume(connection);
    } catch {
      // The server is still unreachable; its socket-close does not reach us here (it never
      // opened), so schedule the next attempt ourselves.
      this.start();
    }
  }
}
