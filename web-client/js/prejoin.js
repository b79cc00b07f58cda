// The pre-join screen: camera preview, device choice, microphone level, name. Calls `onJoin(name)`
// once the name is acceptable.

import { STRINGS, format } from './strings.js';
import { listDevices } from './media.js';
import { LevelMeter } from './level-meter.js';
import { nameProblem, storeName, storedName } from './identity.js';

const $ = (id) => document.getElementById(id);

export class Prejoin {
  #local;
  #meter;

  /**
   * @param {import('./local-media.js').LocalMedia} local
   * @param {(name: string) => void} onJoin
   * @param {() => boolean} isActive true while the page is on the pre-join screen
   */
  constructor(local, onJoin, isActive) {
    this.#local = local;
    this.#meter = new LevelMeter($('mic-level'));
    $('prejoin-form').addEventListener('submit', (event) => {
      event.preventDefault();
      if (!isActive()) return;
      const name = $('name').value.trim();
      const problem = nameProblem(name);
      this.#showNameError(problem);
      if (problem) {
        $('name').focus();
        return;
      }
      storeName(name);
      onJoin(name);
    });
    $('camera-select').addEventListener('change', (e) => this.#switch('video', e.target.value));
    $('mic-select').addEventListener('change', (e) => this.#switch('audio', e.target.value));
  }

  /** Shows the screen (with `nameError` when the server refused the name). */
  async show(nameError = '') {
    const nameInput = $('name');
    if (nameInput.value === '') nameInput.value = storedName();
    this.#showNameError(nameError);
    if (nameError) nameInput.focus();
    if (!this.#local.tried) {
      this.#showMediaProblem(STRINGS.askingDevices);
      await this.#local.acquire();
    }
    this.#showPreview();
    this.#showMediaProblem(this.#local.message());
    await this.#fillDeviceSelects();
    if (!nameError) (nameInput.value === '' ? nameInput : $('join')).focus();
  }

  /** Leaves the screen: the preview and the level meter stop. */
  hide() {
    $('preview').srcObject = null;
    this.#meter.stop();
  }

  async #switch(kind, deviceId) {
    await this.#local.switchDevice(kind, deviceId);
    this.#showPreview();
    this.#showMediaProblem(this.#local.message());
  }

  #showMediaProblem(text) {
    const box = $('media-problem');
    box.textContent = text;
    box.hidden = text === '';
  }

  #showNameError(text) {
    const box = $('name-error');
    box.textContent = text;
    box.hidden = text === '';
    $('name').setAttribute('aria-invalid', text === '' ? 'false' : 'true');
  }

  async #fillDeviceSelects() {
    let devices = { audio: [], video: [] };
    try {
      devices = await listDevices();
    } catch (error) {
      console.warn('classroom: could not list devices', error);
    }
    this.#fillSelect($('camera-select'), devices.video, 'video', STRINGS.noCameraOption, STRINGS.camera);
    this.#fillSelect($('mic-select'), devices.audio, 'audio', STRINGS.noMicrophoneOption, STRINGS.microphone);
  }

  #fillSelect(select, devices, kind, noneLabel, kindLabel) {
    select.replaceChildren();
    const current = this.#local.track(kind)?.getSettings().deviceId;
    devices.forEach((device, index) => {
      const label = device.label || format(STRINGS.deviceFallbackLabel, { kind: kindLabel, n: index + 1 });
      select.append(new Option(label, device.deviceId, false, device.deviceId === current));
    });
    if (devices.length === 0) select.append(new Option(noneLabel, '', true, true));
    select.disabled = devices.length === 0;
  }

  #showPreview() {
    this.#meter.attach(this.#local.track('audio'));
    const video = this.#local.track('video');
    $('preview').srcObject = video ? new MediaStream([video]) : null;
    $('preview').closest('.preview-box').classList.toggle('no-video', video === null);
  }
}
