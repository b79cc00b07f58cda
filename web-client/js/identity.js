// Who this browser is to the class: the display name it remembers and checks, and a random device
// id. Both stay in this browser's storage only.

import { STRINGS } from './strings.js';

const NAME_STORAGE_KEY = 'classroom.name';
const DEVICE_STORAGE_KEY = 'classroom.device';
/** Longest display name the server accepts, in characters (signaling: names.rs). */
export const NAME_MAX_CHARS = 64;

export function storedName() {
  try {
    return window.localStorage.getItem(NAME_STORAGE_KEY) ?? '';
  } catch {
    return ''; // Storage disabled: the user types the name each time.
  }
}

export function storeName(name) {
  try {
    window.localStorage.setItem(NAME_STORAGE_KEY, name);
  } catch {
    // Storage disabled: nothing to remember the name with.
  }
}

/** The problem with `name` as the server would see it, or '' if it is acceptable. */
export function nameProblem(name) {
  const chars = Array.from(name.trim()).length;
  if (chars === 0) return STRINGS.nameRequired;
  if (chars > NAME_MAX_CHARS) return STRINGS.nameHelp;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return STRINGS.nameHelp;
  return '';
}

/** This browser's random id, so that a teacher's "remove and bar" also holds on a shared link. */
export function deviceId() {
  try {
    let id = localStorage.getItem(DEVICE_STORAGE_KEY);
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(DEVICE_STORAGE_KEY, id);
    }
    return id;
  } catch {
    return undefined;
  }
}
