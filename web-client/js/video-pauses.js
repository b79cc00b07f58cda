// Which classmates' videos the server stopped forwarding to this page (`video_paused`, until
// `video_resumed`; docs/PROTOCOL.md), and why. Kept here rather than on the tiles because a pause
// may come before its tile exists (a screen tile is made at its first frame) and must outlive a
// tile being moved around by the layout. No DOM, no signalling: plain Node tests import it.

/** The reasons the server gives: the downlink is too weak, or the video is beyond the last N. */
export const PAUSE_REASONS = Object.freeze(['bandwidth', 'last_n']);

/** The video sources the server may pause. */
const VIDEO_SOURCES = new Set(['camera', 'screen']);

/**
 * The id of the tile showing `participant`'s video of `source`: the participant's own tile for
 * the camera, `<id>/screen` for a screen share (as app.js names them).
 */
export function tileIdFor(participant, source) {
  return source === 'screen' ? `${participant}/screen` : participant;
}

/** The paused videos by tile id; the newest message about a video wins. */
export class VideoPauses {
  /** tile id → reason. */
  #reasons = new Map();

  /**
   * Server `video_paused`: returns the id of the tile concerned, or null for a message that names
   * no video (ignored, as a newer server might send more than this page knows).
   */
  paused({ participant, source, reason }) {
    if (!isVideo(participant, source) || typeof reason !== 'string' || reason === '') return null;
    const id = tileIdFor(participant, source);
    this.#reasons.set(id, reason);
    return id;
  }

  /** Server `video_resumed`: returns the id of the tile concerned, or null (as `paused`). */
  resumed({ participant, source }) {
    if (!isVideo(participant, source)) return null;
    const id = tileIdFor(participant, source);
    this.#reasons.delete(id);
    return id;
  }

  /** Why the video of tile `id` is paused, or null when it is not. */
  reason(id) {
    return this.#reasons.get(id) ?? null;
  }

  /** Forgets the pause of one video (its track ended: a new one starts unpaused). */
  forget(participant, source) {
    this.#reasons.delete(tileIdFor(participant, source));
  }

  /** Forgets every pause of `participant` (it left). */
  forgetParticipant(participant) {
    for (const source of VIDEO_SOURCES) this.forget(participant, source);
  }

  /**
   * Forgets everything and returns the ids that were paused: after a new media session, or a
   * resume (messages sent while the socket was down are lost, so what was known may be stale).
   */
  clear() {
    const ids = [...this.#reasons.keys()];
    this.#reasons.clear();
    return ids;
  }
}

function isVideo(participant, source) {
  return typeof participant === 'string' && participant !== '' && VIDEO_SOURCES.has(source);
}
