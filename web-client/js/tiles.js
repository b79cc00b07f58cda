// The video grid: one tile per participant (self included), showing their video, name and role,
// and playing their audio. DOM only; no signalling, no WebRTC.

import { STRINGS, format } from './strings.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An inline icon from the `<symbol>`s of class.html (CSP-safe: no external or inline style). */
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(SVG_NS, 'use');
  use.setAttribute('href', `#icon-${name}`);
  svg.append(use);
  return svg;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function initials(name) {
  const letters = name
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .map((word) => Array.from(word)[0] ?? '');
  return letters.join('').toUpperCase() || '?';
}

/** One participant's tile. */
export class Tile {
  /** The `<figure>` to put in the grid. */
  element;
  #video;
  #audio = null;
  #name;
  #role;
  #avatar;
  #micOff;
  #cameraOff;
  #quality;
  #pausedNote;
  #self;
  #screen;
  /** Why the server stopped sending this video to us ('bandwidth' | 'last_n'), or null. */
  #paused = null;
  #tracks = { audio: null, video: null };
  #participant;
  #onAutoplayBlocked;
  #pin = null;

  /**
   * @param {{id: string, name: string, role: string, audio: boolean, video: boolean}} participant
   * @param {{self?: boolean, screen?: boolean, onAutoplayBlocked?: () => void,
   *   onPin?: (id: string) => void}} [options] `screen`: the tile shows `participant`'s shared
   *   screen (named "Screen of …", shown whether or not their camera is on); `onPin` adds a
   *   button that shows this participant large (and back).
   */
  constructor(participant, { self = false, screen = false, onAutoplayBlocked = () => {}, onPin = null } = {}) {
    this.#self = self;
    this.#screen = screen;
    this.#onAutoplayBlocked = onAutoplayBlocked;
    this.element = element('figure', ['tile', self && 'self', screen && 'screen'].filter(Boolean).join(' '));
    this.element.dataset.participant = participant.id;

    // Video elements are always muted: audio plays through the tile's own <audio> element.
    this.#video = element('video');
    this.#video.autoplay = true;
    this.#video.muted = true;
    this.#video.playsInline = true;
    this.#video.setAttribute('playsinline', '');

    this.#avatar = element('div', 'avatar');
    this.#avatar.setAttribute('aria-hidden', 'true');

    // Says in words why the avatar shows instead of the video, when the server paused it.
    this.#pausedNote = element('p', 'paused-note');
    this.#pausedNote.hidden = true;

    const caption = element('figcaption');
    this.#name = element('span', 'name');
    this.#role = element('span', 'role');
    this.#micOff = element('span', 'indicator mic-off');
    this.#micOff.append(icon('mic-off'));
    this.#micOff.setAttribute('role', 'img');
    this.#micOff.setAttribute('aria-label', STRINGS.micOff);
    this.#cameraOff = element('span', 'indicator camera-off');
    this.#cameraOff.append(icon('camera-off'));
    this.#cameraOff.setAttribute('role', 'img');
    this.#cameraOff.setAttribute('aria-label', STRINGS.cameraOff);
    // Three bars filled by CSS from `data-quality`; the label says it in words.
    this.#quality = element('span', 'quality');
    this.#quality.setAttribute('role', 'img');
    for (let i = 0; i < 3; i += 1) this.#quality.append(element('span', 'bar'));
    caption.append(this.#name, this.#role, this.#micOff, this.#cameraOff, this.#quality);

    this.element.append(this.#video, this.#avatar, this.#pausedNote, caption);
    if (onPin) {
      this.#pin = element('button', 'tile-action pin');
      this.#pin.type = 'button';
      this.#pin.append(icon('pin'));
      this.#pin.setAttribute('aria-pressed', 'false');
      this.#pin.addEventListener('click', () => onPin(this.#participant.id));
      this.element.append(this.#pin);
    }
    if (!self) {
      this.#audio = element('audio');
      this.#audio.autoplay = true;
      this.element.append(this.#audio);
    }
    this.update(participant);
    this.setQuality('unknown');
  }

  /** Shows whether this tile is the one pinned large (its button then unpins). */
  setPinned(pinned) {
    if (!this.#pin) return;
    this.#pin.setAttribute('aria-pressed', String(pinned));
    const label = format(pinned ? STRINGS.unpin : STRINGS.pin, { name: this.#participant.name });
    this.#pin.setAttribute('aria-label', label);
    this.#pin.title = label;
  }

  /** Shows the connection-quality mark: 'good' | 'fair' | 'poor' | 'unknown'. */
  setQuality(mark) {
    this.element.dataset.quality = mark;
    this.#quality.hidden = mark === 'unknown';
    const label = STRINGS.quality[mark] ?? STRINGS.quality.unknown;
    this.#quality.setAttribute('aria-label', label);
    this.#quality.title = label;
  }

  /** The participant data shown (as last updated). */
  get participant() {
    return this.#participant;
  }

  /** Shows a new name, role or mic/camera state. */
  update(participant) {
    this.#participant = participant;
    const name = this.#self
      ? format(STRINGS.you, { name: participant.name })
      : this.#screen
        ? format(STRINGS.screenOf, { name: participant.name })
        : participant.name;
    this.#name.textContent = name;
    this.#role.textContent = participant.role === 'teacher' ? STRINGS.roleTeacher : STRINGS.rolePupil;
    this.element.dataset.role = participant.role;
    this.#avatar.textContent = initials(participant.name);
    this.#video.setAttribute('aria-label', name);
    this.setPinned(this.#pin?.getAttribute('aria-pressed') === 'true');
    this.#micOff.hidden = participant.audio !== false;
    this.#cameraOff.hidden = participant.video !== false;
    this.#refreshVideoVisibility();
  }

  /** Shows (video) or plays (audio) `track`, or stops doing so with `null`. */
  setTrack(kind, track) {
    this.#tracks[kind] = track;
    if (kind === 'video') {
      this.#video.srcObject = track ? new MediaStream([track]) : null;
      if (track) this.#play(this.#video);
      this.#refreshVideoVisibility();
    } else if (this.#audio) {
      this.#audio.srcObject = track ? new MediaStream([track]) : null;
      if (track) this.#play(this.#audio);
    }
  }

  /**
   * Shows that the server stopped sending this video to us (`reason`: 'bandwidth' or 'last_n',
   * see docs/PROTOCOL.md `video_paused`), or that it comes again (`null`). While paused, the last
   * frame received would stay frozen: the tile shows the avatar instead, with a note saying why,
   * and `data-video-paused` holds the reason (for styling and tests).
   */
  setPaused(reason) {
    this.#paused = reason || null;
    if (this.#paused) this.element.dataset.videoPaused = this.#paused;
    else delete this.element.dataset.videoPaused;
    const notes = this.#screen ? STRINGS.screenPaused : STRINGS.videoPaused;
    // A reason this page does not know yet is shown as the calm one.
    const note = this.#paused ? (notes[this.#paused] ?? notes.last_n) : '';
    this.#pausedNote.textContent = note;
    this.#pausedNote.title = note;
    this.#refreshVideoVisibility();
  }

  /** Why the server paused this video ('bandwidth' | 'last_n'), or null when it is not paused. */
  get paused() {
    return this.#paused;
  }

  /** The track shown or played for `kind`, if any. */
  track(kind) {
    return this.#tracks[kind];
  }

  /** Retries playback after a user gesture (autoplay with sound may have been refused). */
  resume() {
    if (this.#audio && this.#audio.srcObject) this.#play(this.#audio);
    if (this.#video.srcObject) this.#play(this.#video);
  }

  /** Takes the tile out of the grid and lets go of its media. */
  remove() {
    this.#video.srcObject = null;
    if (this.#audio) this.#audio.srcObject = null;
    this.element.remove();
  }

  #refreshVideoVisibility() {
    // A shared screen does not depend on its sharer's camera being on.
    const sending = this.#screen || this.#participant.video !== false;
    const showing = this.#tracks.video !== null && sending && this.#paused === null;
    this.element.classList.toggle('no-video', !showing);
    // A camera turned off says so itself (its mark); the note explains a pause only.
    this.#pausedNote.hidden = this.#paused === null || !sending;
  }

  #play(media) {
    const playing = media.play();
    if (playing && typeof playing.catch === 'function') {
      playing.catch((error) => {
        if (error.name === 'NotAllowedError' && media === this.#audio) this.#onAutoplayBlocked();
      });
    }
  }
}
