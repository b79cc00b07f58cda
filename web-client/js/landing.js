// The start page: creates a class (POST /api/rooms) and shows its teacher and pupil links.

import { STRINGS, applyStrings, format } from './strings.js';

const $ = (id) => document.getElementById(id);
const COPIED_FOR_MS = 2000;

/** The server's explanation of a failed request: JSON `message`/`error`, else the body text. */
async function serverMessage(response) {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === 'string') return body.message;
    if (body && typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text.trim() || `${response.status} ${response.statusText}`.trim();
}

function showError(text) {
  const box = $('create-error');
  box.textContent = text;
  box.hidden = text === '';
}

function showLink(id, url) {
  const a = $(id);
  a.href = url;
  a.textContent = url;
}

/** Refusals that a key typed here can fix (signaling: server.rs `refuse_creator`). */
const KEY_ERRORS = new Set(['admin_key_required', 'bad_admin_key']);

/** The refusal's machine-readable code, if the body has one. */
async function refusalOf(response) {
  const text = await response.clone().text().catch(() => '');
  try {
    const body = JSON.parse(text);
    return typeof body?.error === 'string' ? body.error : '';
  } catch {
    return '';
  }
}

/**
 * Creates a class. On a server that needs its admin key, the key is asked for here and sent as
 * `Authorization: Bearer`; it stays in this page's memory only (never stored), so a shared
 * computer does not keep it.
 */
async function createClass(adminKey = '') {
  const button = $('create-class');
  button.disabled = true;
  button.textContent = STRINGS.creating;
  showError('');
  try {
    let response;
    const headers = { Accept: 'application/json' };
    if (adminKey) headers.Authorization = `Bearer ${adminKey}`;
    try {
      response = await fetch('/api/rooms', { method: 'POST', headers });
    } catch {
      showError(STRINGS.createFailedNetwork);
      return;
    }
    if (response.status !== 201) {
      const code = await refusalOf(response);
      showError(format(STRINGS.createFailed, { message: await serverMessage(response) }));
      if (KEY_ERRORS.has(code)) {
        $('admin-key-form').hidden = false;
        $('admin-key').focus();
      }
      return;
    }
    $('admin-key-form').hidden = true;
    const room = await response.json();
    showLink('teacher-url', room.teacher_url);
    showLink('pupil-url', room.pupil_url);
    showLink('observer-url', room.observer_url);
    $('links').hidden = false;
  } catch (error) {
    showError(format(STRINGS.createFailed, { message: error.message }));
  } finally {
    button.disabled = false;
    button.textContent = STRINGS.createClass;
  }
}

async function copyLink(button) {
  const url = $(button.dataset.copy).href;
  try {
    await navigator.clipboard.writeText(url);
    button.textContent = STRINGS.copied;
  } catch {
    // No clipboard access (plain HTTP, or refused): select the link for a manual copy.
    const range = document.createRange();
    range.selectNodeContents($(button.dataset.copy));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = STRINGS.copyFailed;
  }
  setTimeout(() => {
    button.textContent = STRINGS.copy;
  }, COPIED_FOR_MS);
}

applyStrings(document);
$('create-class').addEventListener('click', () => createClass($('admin-key').value.trim()));
$('admin-key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  createClass($('admin-key').value.trim());
});
for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', () => copyLink(button));
}
