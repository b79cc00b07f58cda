// Every user-visible string of the web client lives in `i18n/<lang>.js`, one catalogue per language
// with the same keys; this module picks the catalogue the browser prefers (French when it comes
// first, English otherwise). Static HTML carries `data-text="key"` (textContent) or
// `data-label="key"` (aria-label) attributes, filled by `applyStrings`; the English text in the
// HTML is only a fallback.

import { EN } from './i18n/en.js';
import { FR } from './i18n/fr.js';

/** The catalogues, by primary language subtag. */
export const CATALOGS = { en: EN, fr: FR };

/** The first language of `preferred` (BCP 47 tags, best first) that has a catalogue, else `en`. */
export function pickLanguage(preferred) {
  for (const tag of preferred ?? []) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary in CATALOGS) return primary;
  }
  return 'en';
}

/** The page's language: `?lang=` wins (for a shared screen or a test), then the browser's list. */
function pageLanguage() {
  if (typeof location !== 'undefined') {
    const forced = new URLSearchParams(location.search).get('lang');
    if (forced && forced in CATALOGS) return forced;
  }
  const nav = typeof navigator !== 'undefined' ? navigator : {};
  return pickLanguage(nav.languages?.length ? nav.languages : [nav.language]);
}

/** The language in use on this page. */
export const LANGUAGE = pageLanguage();

/** The strings of the page's language. */
export const STRINGS = CATALOGS[LANGUAGE];

if (typeof document !== 'undefined') document.documentElement.lang = LANGUAGE;

/** Replaces `{key}` placeholders of `template` by the matching values of `values`. */
export function format(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/** Fills `[data-text]` elements' text and `[data-label]` elements' aria-label under `root`. */
export function applyStrings(root, strings = STRINGS) {
  for (const el of root.querySelectorAll('[data-text]')) {
    const text = strings[el.dataset.text];
    if (typeof text === 'string') el.textContent = text;
  }
  for (const el of root.querySelectorAll('[data-label]')) {
    const text = strings[el.dataset.label];
    if (typeof text === 'string') el.setAttribute('aria-label', text);
  }
}
