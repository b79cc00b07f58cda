// The user's own camera and microphone: opened once, switched from the pre-join screen, and the
// words that explain what is missing. No DOM.

import { STRINGS, format } from './strings.js';
import { mediaProblem, openLocalMedia, openTrack } from './media.js';

export class LocalMedia {
  /** What we publish: at most one audio and one video track. */
  stream = new MediaStream();
  /** Why a device is missing (the first failure), or null. */
  error = null;
  /** True once the devices were asked for. */
  tried = false;

  /** The local track of `kind`, if any. */
  track(kind) {
    return this.stream.getTracks().find((t) => t.kind === kind) ?? null;
  }

  /** Opens the microphone and camera (from `deviceIds` if given), replacing what was open. */
  async acquire(deviceIds = {}) {
    this.stop();
    ({ stream: this.stream, error: this.error } = await openLocalMedia(deviceIds));
    this.tried = true;
  }

  /** Replaces the `kind` track with one from `deviceId`. */
  async switchDevice(kind, deviceId) {
    const old = this.track(kind);
    if (old) {
      this.stream.removeTrack(old);
      old.stop();
    }
    try {
      this.stream.addTrack(await openTrack(kind, deviceId));
      this.error = null;
    } catch (error) {
      this.error = error;
    }
  }

  /** Stops every track (leaving, or before opening others). */
  stop() {
    for (const track of this.stream.getTracks()) track.stop();
  }

  /** Lets go of the devices for good: an observer publishes nothing. */
  release() {
    this.stop();
    this.stream = new MediaStream();
    this.error = null;
  }

  /** What to tell the user about missing devices, or '' when both work. */
  message() {
    const hasAudio = this.track('audio') !== null;
    const hasVideo = this.track('video') !== null;
    if (hasAudio && hasVideo) return '';
    if (!hasAudio && !hasVideo) return problemText(this.error);
    return hasAudio ? STRINGS.mediaNoCamera : STRINGS.mediaNoMicrophone;
  }
}

function problemText(error) {
  switch (mediaProblem(error)) {
    case 'insecure':
      return STRINGS.mediaInsecure;
    case 'unsupported':
      return STRINGS.mediaUnsupported;
    case 'denied':
      return STRINGS.mediaDenied;
    case 'not-found':
      return STRINGS.mediaNotFound;
    case 'in-use':
      return STRINGS.mediaInUse;
    default:
      return format(STRINGS.mediaOther, { message: (error && error.message) || String(error) });
  }
}
