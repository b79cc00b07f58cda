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
  // The server's rule (signaling: visible_text.rs), as far as the browser's Unicode tables go:
  // nothing hidden (controls, format characters, Hangul fillers, braille blank, unassigned), a
  // variation selector only after something visible, a zero-width joiner only between two.
  const trimmed = name.trim();
  const hidden = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0\ufe00-\ufe0f]/u;
  const joined = /(?<=[^\s\p{M}\p{C}])\u200d(?=[^\s\p{M}\p{C}])|(?<=[^\s\p{M}\p{C}])[\ufe00-\ufe0f]/gu;
  if (hidden.test(trimmed.replace(joined, ''))) return STRINGS.nameHelp;
  if (!/[^\s\p{M}\p{C}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0]/u.test(trimmed)) return STRINGS.nameRequired;
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
