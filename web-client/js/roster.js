// The participants panel: raised hands first (in queue order), then everyone else; for a teacher,
// each pupil's actions (mute, camera off, give the floor, promote, remove) and the lobby with
// admit/deny. DOM only: every button calls `onAction(type, participantId, extra)`; the server
// decides and the next update redraws.

import { STRINGS, format } from './strings.js';

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function actionButton(label, type, participant, onAction, extra = {}, variant = 'secondary') {
  const button = element('button', `button small ${variant}`, label.text);
  button.type = 'button';
  button.dataset.action = type;
  button.setAttribute('aria-label', label.aria);
  button.addEventListener('click', () => onAction(type, participant.id, extra));
  return button;
}

const ROLE_TEXT = { teacher: 'roleTeacher', pupil: 'rolePupil', observer: 'roleObserver' };

export class Roster {
  #list;
  #lobby;
  #lobbyList;
  #onAction;

  /**
   * @param {{list: HTMLElement, lobby: HTMLElement, lobbyList: HTMLElement}} parts
   * @param {(type: string, participant: string | null, extra?: object) => void} onAction
   */
  constructor({ list, lobby, lobbyList }, onAction) {
    this.#list = list;
    this.#lobby = lobby;
    this.#lobbyList = lobbyList;
    this.#onAction = onAction;
  }

  /**
   * Redraws the panel.
   *
   * @param {{you: object, participants: Map<string, object>, hands: string[], lobby: object[]}} state
   */
  render({ you, participants, hands, lobby }) {
    const teacher = you.role === 'teacher';
    const everyone = [you, ...participants.values()];
    const byId = new Map(everyone.map((p) => [p.id, p]));
    const raised = hands.filter((id) => byId.has(id)).map((id) => byId.get(id));
    const others = everyone.filter((p) => !hands.includes(p.id));
    // Teachers first, then by name, so a pupil is easy to find in a long list.
    others.sort((a, b) => (a.role === 'teacher' ? 0 : 1) - (b.role === 'teacher' ? 0 : 1) || a.name.localeCompare(b.name));

    const focusedAction = document.activeElement?.closest?.('[data-row]')
      ? [document.activeElement.closest('[data-row]').dataset.row, document.activeElement.dataset.action]
      : null;
    const openRemove = this.#list.querySelector('details[open]')?.closest('[data-row]')?.dataset.row;
    this.#list.replaceChildren(
      ...raised.map((p, i) => this.#row(p, { you, teacher, position: i + 1 })),
      ...others.map((p) => this.#row(p, { you, teacher, position: 0 })),
    );
    if (openRemove) this.#list.querySelector(`[data-row="${openRemove}"] details`)?.setAttribute('open', '');
    // Redrawing must not lose the keyboard user's place.
    if (focusedAction) {
      const [row, action] = focusedAction;
      this.#list.querySelector(`[data-row="${row}"] [data-action="${action}"]`)?.focus();
    }

    this.#lobby.hidden = !teacher || lobby.length === 0;
    this.#lobbyList.replaceChildren(
      ...lobby.map((guest) => {
        const item = element('li', 'roster-row');
        item.dataset.row = guest.id;
        item.append(element('span', 'roster-name', guest.name));
        const label = (key) => ({ text: STRINGS[key], aria: format(STRINGS[`${key}Named`], { name: guest.name }) });
        item.append(
          actionButton(label('admit'), 'admit', guest, this.#onAction, {}, 'primary'),
          actionButton(label('deny'), 'deny', guest, this.#onAction, {}, 'secondary'),
        );
        return item;
      }),
    );
  }

  #row(p, { you, teacher, position }) {
    const self = p.id === you.id;
    const item = element('li', 'roster-row');
    item.dataset.row = p.id;
    if (position > 0) {
      const hand = element('span', 'hand-badge', String(position));
      hand.setAttribute('role', 'img');
      hand.setAttribute('aria-label', format(STRINGS.handPosition, { n: position }));
      item.append(hand);
    }
    const name = element('span', 'roster-name', self ? format(STRINGS.you, { name: p.name }) : p.name);
    // The role comes from the server, never from the name: a teacher's badge is drawn here and
    // a pupil cannot name themselves into one (the server refuses role words in their names).
    const role = element('span', 'roster-role', STRINGS[ROLE_TEXT[p.role] ?? 'rolePupil']);
    role.dataset.role = p.role;
    item.append(name, role);
    const state = [];
    if (p.audio === false || p.rights?.mic === false) state.push(STRINGS.micOff);
    if (p.video === false || p.rights?.camera === false) state.push(STRINGS.cameraOff);
    if (p.screen) state.push(STRINGS.sharingScreen);
    if (p.reconnecting) state.push(STRINGS.reconnectingShort);
    if (state.length > 0) item.append(element('span', 'roster-state', state.join(' · ')));

    if (teacher && !self && p.role !== 'teacher') {
      const actions = element('span', 'roster-actions');
      const label = (key) => ({ text: STRINGS[key], aria: format(STRINGS[`${key}Named`], { name: p.name }) });
      if (p.rights?.mic) actions.append(actionButton(label('mute'), 'mute', p, this.#onAction));
      else actions.append(actionButton(label('giveFloor'), 'give_floor', p, this.#onAction, {}, 'primary'));
      if (position > 0) actions.append(actionButton(label('lowerHand'), 'lower_hand', p, this.#onAction));
      if (p.rights?.camera && p.video !== false) actions.append(actionButton(label('cameraOffAction'), 'camera_off', p, this.#onAction));
      if (p.screen) actions.append(actionButton(label('stopScreen'), 'stop_screen', p, this.#onAction));
      if (p.role === 'pupil') actions.append(actionButton(label('promote'), 'promote', p, this.#onAction));
      // Removing someone is behind one more click: a slip must not throw a child out of class.
      const remove = element('details', 'roster-remove');
      const summary = element('summary', 'button small secondary', STRINGS.removeMenu);
      summary.setAttribute('aria-label', format(STRINGS.removeMenuNamed, { name: p.name }));
      remove.append(
        summary,
        actionButton(label('kick'), 'kick', p, this.#onAction, { bar: false }, 'danger'),
        actionButton(label('kickBar'), 'kick', p, this.#onAction, { bar: true }, 'danger'),
      );
      actions.append(remove);
      item.append(actions);
    }
    return item;
  }
}
