// The class around the video: raised hands, the participants panel, the lobby, the teacher's
// class controls and the chat. Keeps the class state the server sends (`hands`, `settings`,
// `lobby`, chat) in the shared `classroom` object and redraws; every action goes to the server,
// which decides (a pupil never sees teacher buttons, and the server refuses them anyway).

import { STRINGS, format } from './strings.js';
import { ChatPanel } from './chat.js';
import { Roster } from './roster.js';

const $ = (id) => document.getElementById(id);

/** "1st", "2nd"… in English; "1er", "2e"… in French: the strings carry the pattern. */
function ordinal(n) {
  return format(n === 1 ? STRINGS.ordinalFirst : STRINGS.ordinalOther, { n });
}

export class ClassControls {
  #classroom;
  #connection;
  #roster;
  #invite = null;
  chat;

  /**
   * @param {object} classroom the page state (`you`, `participants`, …), shared with app.js
   * @param {() => import('./protocol.js').ClassroomConnection} connection the current socket
   */
  constructor(classroom, connection) {
    this.#classroom = classroom;
    this.#connection = connection;
    classroom.hands = [];
    classroom.lobby = [];
    classroom.settings = null;
    this.#roster = new Roster(
      { list: $('roster'), lobby: $('lobby'), lobbyList: $('lobby-list') },
      (type, participant, extra) => this.#teacherAction(type, participant, extra),
    );
    this.chat = new ChatPanel(
      { list: $('chat-list'), form: $('chat-form'), input: $('chat-input'), send: $('chat-send'), reason: $('chat-reason') },
      (text) => this.#connection().sendChat(text),
      () => !$('side-panel').hidden,
    );
    this.chat.onUnread = (n) => {
      $('unread').hidden = n === 0;
      $('unread').textContent = String(n);
      $('unread').setAttribute('aria-label', format(STRINGS.unreadMessages, { n }));
    };
    this.#wireButtons();
  }

  /** The class as `welcome`/`resumed` describe it. */
  snapshot(msg) {
    this.#classroom.hands = msg.hands ?? [];
    this.#classroom.lobby = msg.lobby ?? [];
    this.#classroom.settings = msg.settings ?? null;
    this.#invite = typeof msg.invite === 'string' ? msg.invite : null;
    this.chat.add(msg.chat ?? [], this.#classroom.you?.id);
    this.render();
  }

  hands(queue) {
    this.#classroom.hands = Array.isArray(queue) ? queue : [];
    this.render();
  }

  lobby(waiting) {
    this.#classroom.lobby = Array.isArray(waiting) ? waiting : [];
    this.render();
  }

  settings(settings) {
    this.#classroom.settings = settings;
    this.render();
  }

  chatEntry(entry) {
    this.chat.add([entry], this.#classroom.you?.id);
  }

  /** Redraws everything that depends on the class state. */
  render() {
    const { you, participants, hands, lobby, settings } = this.#classroom;
    if (!you) return;
    const teacher = you.role === 'teacher';
    this.#roster.render({ you, participants, hands, lobby });

    // Raise hand: pupils only; pressed while raised, with the place in the queue.
    const hand = $('raise-hand');
    hand.hidden = you.role !== 'pupil';
    const place = hands.indexOf(you.id) + 1;
    hand.setAttribute('aria-pressed', String(place > 0));
    const text = place > 0 ? format(STRINGS.lowerHandPlace, { place: ordinal(place) }) : STRINGS.raiseHand;
    $('raise-hand-text').textContent = text;
    hand.setAttribute('aria-label', text);

    $('teacher-controls').hidden = !teacher;
    $('copy-invite').hidden = !this.#invite;
    if (settings) {
      $('setting-locked').checked = settings.locked;
      $('setting-chat').checked = settings.chat;
      $('setting-pupil-mic').checked = settings.pupil_mic;
      $('setting-pupil-camera').checked = settings.pupil_camera;
      $('guest-policy').value = settings.guest_policy;
    }

    let reason = '';
    if (settings && !settings.chat && !teacher) reason = STRINGS.chatOff;
    else if (you.rights && you.rights.chat === false) reason = STRINGS.chatNotAllowed;
    this.chat.setAllowed(reason);
  }

  #teacherAction(type, participant, extra = {}) {
    if (type === 'lower_hand') this.#connection().lowerHand(participant);
    else this.#connection().teacherAction(type, participant, extra);
  }

  #wireButtons() {
    $('raise-hand').addEventListener('click', () => {
      const raised = this.#classroom.hands.includes(this.#classroom.you?.id);
      if (raised) this.#connection().lowerHand();
      else this.#connection().raiseHand();
    });
    $('mute-all').addEventListener('click', () => this.#connection().teacherAction('mute_all'));
    $('lower-all-hands').addEventListener('click', () => this.#connection().teacherAction('lower_all_hands'));
    $('end-class').addEventListener('click', () => this.#connection().teacherAction('end_class'));
    const setting = (id, key) =>
      $(id).addEventListener('change', (event) => this.#connection().setSettings({ [key]: event.target.checked }));
    setting('setting-locked', 'locked');
    setting('setting-chat', 'chat');
    setting('setting-pupil-mic', 'pupil_mic');
    setting('setting-pupil-camera', 'pupil_camera');
    $('guest-policy').addEventListener('change', (event) =>
      this.#connection().setSettings({ guest_policy: event.target.value }),
    );
    $('copy-invite').addEventListener('click', async () => {
      const url = new URL(`/class/${encodeURIComponent(this.#classroom.room ?? '')}`, window.location.href);
      url.searchParams.set('token', this.#invite ?? '');
      const button = $('copy-invite');
      try {
        await navigator.clipboard.writeText(url.href);
        button.textContent = STRINGS.copied;
      } catch {
        button.textContent = STRINGS.copyFailed;
      }
      setTimeout(() => {
        button.textContent = STRINGS.copyInvite;
      }, 2000);
    });
  }
}
