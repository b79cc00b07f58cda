// A microphone level meter for the pre-join screen: the user sees that the right microphone picks
// them up before they join. Web Audio only; nothing is recorded or sent.

/** How often the meter is refreshed; a level meter needs no more than this. */
const REFRESH_MS = 100;

/** Drives a `<meter>` (0–1) from an audio track's loudness until `stop()`. */
export class LevelMeter {
  #context = null;
  #source = null;
  #timer = null;
  #meter;

  /** @param {HTMLMeterElement} meter */
  constructor(meter) {
    this.#meter = meter;
  }

  /** Measures `track` (an audio MediaStreamTrack), or nothing with `null`. */
  attach(track) {
    this.stop();
    this.#meter.hidden = track === null;
    if (track === null || typeof AudioContext === 'undefined') return;
    this.#context = new AudioContext();
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = 512;
    this.#source = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    // A timer rather than requestAnimationFrame: it keeps running in a background tab, where
    // people often check their microphone while reading something else.
    this.#timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // Speech sits around -30 dBFS RMS; map -60..0 dBFS onto 0..1 so it shows mid-scale.
      const db = 20 * Math.log10(Math.max(rms, 1e-6));
      this.#meter.value = Math.min(1, Math.max(0, (db + 60) / 60));
    }, REFRESH_MS);
  }

  /** Stops measuring and frees the audio graph. */
  stop() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#source?.disconnect();
    this.#source = null;
    this.#context?.close().catch(() => {});
    this.#context = null;
    this.#meter.value = 0;
  }
}
