// Which quality of each classmate's camera this page asks the server for. The size a tile is
// shown at decides: a thumbnail needs the half-size simulcast layer, the stage the full one.
// So a pupil on a weak link is not sent thirty full-size cameras it shows as stamps, and the
// server sends less. No DOM beyond watching sizes; the message goes through `send`.

/** Device pixels a tile must be wider than to need the full layer (the low one is 320 wide). */
export const FULL_LAYER_ABOVE_PX = 400;

/** The quality a video shown `cssWidth` wide needs on a screen of `pixelRatio`. */
export function qualityForWidth(cssWidth, pixelRatio = 1) {
  return cssWidth * pixelRatio > FULL_LAYER_ABOVE_PX ? 'high' : 'low';
}

/** Watches tile elements and asks for each participant's quality when it changes. */
export class VideoQualityRequests {
  #send;
  #observer;
  /** Watched element → the participant it shows. */
  #watched = new Map();
  /** What each participant's tile needs now, and what the server was last told. */
  #wanted = new Map();
  #asked = new Map();

  /**
   * @param {(participant: string, quality: string) => boolean} send false when it could not be
   *   sent (no socket): it is asked again at the next `flush`.
   * @param {(callback: ResizeObserverCallback) => ResizeObserver} [observe] how sizes are watched
   *   (replaced in the plain-Node tests).
   */
  constructor(send, observe = (callback) => new ResizeObserver(callback)) {
    this.#send = send;
    // A hidden tile (another page of thumbnails) measures 0 wide and so needs the least.
    this.#observer = observe((entries) => {
      for (const entry of entries) {
        const participant = this.#watched.get(entry.target);
        if (participant === undefined) continue;
        this.#wanted.set(participant, qualityForWidth(entry.contentRect.width, globalThis.devicePixelRatio || 1));
      }
      this.flush();
    });
  }

  /** Starts watching the tile `element` of `participant`'s camera. */
  watch(participant, element) {
    this.#watched.set(element, participant);
    this.#observer.observe(element);
  }

  /** Stops watching `element`; what was asked for its participant is forgotten with it. */
  unwatch(element) {
    const participant = this.#watched.get(element);
    this.#observer.unobserve(element);
    this.#watched.delete(element);
    this.#wanted.delete(participant);
    this.#asked.delete(participant);
  }

  /** Sends every wish the server has not had yet (also after the socket came back). */
  flush() {
    for (const [participant, quality] of this.#wanted) {
      if (this.#asked.get(participant) === quality) continue;
      if (this.#send(participant, quality)) this.#asked.set(participant, quality);
    }
  }
}
