// The class chat panel: the history (kept by sequence number, so a replay after reconnecting adds
// only what was missed), a form to write, and a reason shown when writing is not allowed.
// DOM only; the caller sends and receives.

import { STRINGS, format } from './strings.js';

/** Longest message the server accepts, in characters (signaling: MAX_CHAT_CHARS). */
export const MAX_CHAT_CHARS = 2000;
/** Messages kept on screen; the server keeps its own bounded history. */
const MAX_SHOWN = 500;

export class ChatPanel {
  #list;
  #form;
  #input;
  #send;
  #reason;
  #seen = new Set();
  /** The highest sequence number received (sent with `resume`). */
  lastSeq = 0;
  /** Messages received while the panel was hidden. */
  unread = 0;
  onUnread = () => {};

  /**
   * @param {{list: HTMLElement, form: HTMLFormElement, input: HTMLInputElement | HTMLTextAreaElement,
   *   send: HTMLButtonElement, reason: HTMLElement}} parts
   * @param {(text: string) => void} onSend
   * @param {() => boolean} isVisible
   */
  constructor(parts, onSend, isVisible) {
    this.#list = parts.list;
    this.#form = parts.form;
    this.#input = parts.input;
    this.#send = parts.send;
    this.#reason = parts.reason;
    this.isVisible = isVisible;
    this.#input.maxLength = MAX_CHAT_CHARS;
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.#input.value.trim();
      if (text === '' || this.#input.disabled) return;
      onSend(text);
      this.#input.value = '';
    });
  }

  /** Adds entries `{seq, from, name, text}` not seen yet, in sequence order. */
  add(entries, youId) {
    const fresh = entries.filter((e) => Number.isInteger(e.seq) && !this.#seen.has(e.seq)).sort((a, b) => a.seq - b.seq);
    for (const entry of fresh) {
      this.#seen.add(entry.seq);
      this.lastSeq = Math.max(this.lastSeq, entry.seq);
      const item = document.createElement('li');
      item.className = entry.from === youId ? 'chat-entry own' : 'chat-entry';
      item.dataset.seq = String(entry.seq);
      const who = document.createElement('span');
      who.className = 'chat-name';
      who.textContent = entry.from === youId ? format(STRINGS.you, { name: entry.name }) : entry.name;
      const text = document.createElement('span');
      text.className = 'chat-text';
      // textContent, never innerHTML: chat text is untrusted.
      text.textContent = entry.text;
      item.append(who, text);
      this.#list.append(item);
      if (!this.isVisible() && entry.from !== youId) this.unread += 1;
    }
    while (this.#list.childElementCount > MAX_SHOWN) this.#list.firstElementChild.remove();
    if (fresh.length > 0) {
      this.#list.scrollTop = this.#list.scrollHeight;
      this.onUnread(this.unread);
    }
  }

  /** The panel was opened: nothing is unread any more. */
  markRead() {
    this.unread = 0;
    this.onUnread(0);
  }

  /** Allows writing, or disables it with the reason shown (`''` when allowed). */
  setAllowed(reason) {
    const allowed = reason === '';
    this.#input.disabled = !allowed;
    this.#send.disabled = !allowed;
    this.#reason.textContent = reason;
    this.#reason.hidden = allowed;
  }
}
