// The translations: every catalogue has the English keys, no more, no fewer, with the same
// `{placeholders}` per string, and the page picks French exactly when the browser prefers it.
// Runs in plain Node (no browser): these are pure modules.

import test from 'node:test';
import assert from 'node:assert/strict';
import { CATALOGS, pickLanguage } from '../js/strings.js';

/** Every string of a catalogue by dotted key (`errors.bad_token`). */
function flatten(catalogue, prefix = '') {
  const out = new Map();
  for (const [key, value] of Object.entries(catalogue)) {
    const name = prefix + key;
    if (typeof value === 'string') out.set(name, value);
    else for (const [k, v] of flatten(value, `${name}.`)) out.set(k, v);
  }
  return out;
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every catalogue has exactly the English keys and placeholders', () => {
  const english = flatten(CATALOGS.en);
  for (const [language, catalogue] of Object.entries(CATALOGS)) {
    const strings = flatten(catalogue);
    const missing = [...english.keys()].filter((k) => !strings.has(k));
    const extra = [...strings.keys()].filter((k) => !english.has(k));
    assert.deepEqual(missing, [], `${language} lacks these keys`);
    assert.deepEqual(extra, [], `${language} has keys English does not`);
    for (const [key, text] of strings) {
      assert.ok(text.trim().length > 0, `${language}.${key} is empty`);
      assert.deepEqual(placeholders(text), placeholders(english.get(key)), `${language}.${key} placeholders`);
    }
  }
});

test('French is chosen when the browser prefers it, English otherwise', () => {
  assert.equal(pickLanguage(['fr-FR', 'en-US']), 'fr');
  assert.equal(pickLanguage(['fr']), 'fr');
  assert.equal(pickLanguage(['de-DE', 'fr-CH', 'en']), 'fr', 'first language with a catalogue wins');
  assert.equal(pickLanguage(['en-GB', 'fr-FR']), 'en');
  assert.equal(pickLanguage(['de-DE']), 'en', 'no catalogue: English');
  assert.equal(pickLanguage([]), 'en');
  assert.equal(pickLanguage(undefined), 'en');
});
