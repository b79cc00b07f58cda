// A teacher runs a class of three pupils from the browser, and the server enforces it:
// a raised hand, the floor given (only then do the others hear that pupil), mute all (the audio
// stops at the others), chat going round, a pupil removed and barred, a newcomer admitted from the
// lobby. Audio is measured with getStats() at the other pupils, not inferred from the UI.
// Saves the screenshots of docs/screenshots/.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SAMPLE_GAP_MS,
  UI_TIMEOUT_MS,
  createRoom,
  inboundStats,
  openPage,
  sleep,
  stream,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  waitUntil,
  withDiagnostics,
} from './helpers.mjs';

useHarness();

const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');

/** Packets and bytes `page` has received from `participant`'s audio so far. */
async function audioFrom(participant, id) {
  const s = stream(await inboundStats(participant.page), id, 'audio');
  return { packets: s?.packetsReceived ?? 0, bytes: s?.bytesReceived ?? 0 };
}

/** How much of `id`'s audio each listener received over one sample gap. */
async function audioGrowth(listeners, id) {
  const before = await Promise.all(listeners.map((l) => audioFrom(l, id)));
  await sleep(SAMPLE_GAP_MS);
  const after = await Promise.all(listeners.map((l) => audioFrom(l, id)));
  return listeners.map((l, i) => ({
    label: l.label,
    packets: after[i].packets - before[i].packets,
    bytes: after[i].bytes - before[i].bytes,
  }));
}

async function clickAction(teacher, participantId, action) {
  const button = teacher.page.locator(`#roster [data-row="${participantId}"] [data-action="${action}"]`);
  await button.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }).catch((error) => {
    throw new Error(`the teacher has no "${action}" button for ${participantId}: ${error.message}`);
  });
  await button.click();
}

async function openPanel(participant) {
  if ((await participant.page.getAttribute('#toggle-panel', 'aria-pressed')) !== 'true') {
    await participant.page.click('#toggle-panel');
  }
}

test('a teacher runs the class: hand, floor, mute all, chat, remove, lobby', { timeout: 300_000 }, async () => {
  await withDiagnostics('class control', async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`, {
      viewport: { width: 1280, height: 800 },
      name: 'Mme Martin',
    });
    const teacherInfo = await waitJoined(teacher);
    const pupils = [];
    for (const [n, name] of ['Léa', 'Noah', 'Inès'].entries()) {
      pupils.push(await openPage(`pupil${n + 1}`, `${room.pupil_url}&prejoin=0`, { name }));
    }
    const ids = [];
    for (const pupil of pupils) ids.push((await waitJoined(pupil)).id);
    const [first, second, third] = pupils;

    // Microphones are the teacher's to give: pupils may not turn theirs on.
    await openPanel(teacher);
    await teacher.page.locator('#setting-pupil-mic').uncheck();
    await waitUntil(first, 'the mic button disabled with a reason', () => {
      const b = document.getElementById('toggle-mic');
      return b.disabled && b.title !== '';
    });

    const others = [second, third];
    for (const listener of others) await waitTracks(listener, [{ participant: ids[0], kind: 'audio' }]);
    for (const listener of [first, ...others]) await waitFirstMedia(listener, [{ participant: teacherInfo.id, kind: 'video' }]);

    // Whatever the pupil's page does, the server forwards nothing without the right.
    await first.page.evaluate(() => {
      for (const t of window.classroom.pc.getSenders()) if (t.track?.kind === 'audio') t.track.enabled = true;
    });
    const silent = await audioGrowth(others, ids[0]);
    console.log('pupil1 audio at the others, no right:', JSON.stringify(silent));
    for (const g of silent) assert.equal(g.packets, 0, `${g.label} got pupil1's audio without the right`);

    // The hand: the pupil sees their place, the teacher sees the queue.
    await first.page.click('#raise-hand');
    await waitUntil(first, 'the raised hand with its place', () =>
      document.getElementById('raise-hand').getAttribute('aria-pressed') === 'true' &&
      /1/.test(document.getElementById('raise-hand-text').textContent));
    await waitUntil(teacher, 'the hand at the top of the teacher\'s list', (id) => {
      const row = document.querySelector('#roster .roster-row');
      return row?.dataset.row === id && row.querySelector('.hand-badge')?.textContent === '1';
    }, ids[0]);
    await teacher.page.screenshot({ path: path.join(SCREENSHOTS, 'teacher.png') });

    // Give the floor: the pupil's mic button comes back, they speak, the others hear them.
    await clickAction(teacher, ids[0], 'give_floor');
    await waitUntil(first, 'the mic button usable again', () => !document.getElementById('toggle-mic').disabled);
    if ((await first.page.getAttribute('#toggle-mic', 'aria-pressed')) !== 'true') await first.page.click('#toggle-mic');
    await sleep(500);
    const heard = await audioGrowth(others, ids[0]);
    console.log('pupil1 audio at the others, with the floor:', JSON.stringify(heard));
    for (const g of heard) {
      assert.ok(g.packets > 20, `${g.label} receives pupil1's audio after give the floor: ${g.packets} packets`);
      // A muted track still sends tiny comfort-noise packets; real sound (the fake device's beep)
      // is tens of bytes per packet.
      assert.ok(g.bytes / g.packets > 20, `${g.label} hears sound from pupil1 (${g.bytes} bytes in ${g.packets} packets)`);
    }
    await first.page.screenshot({ path: path.join(SCREENSHOTS, 'pupil.png') });

    // Mute all: pupil1's audio stops at the others, and the pupil's own button says why.
    await teacher.page.click('#mute-all');
    await waitUntil(first, 'the mic button disabled after mute all', () => document.getElementById('toggle-mic').disabled);
    await sleep(500);
    const muted = await audioGrowth(others, ids[0]);
    console.log('pupil1 audio at the others, after mute all:', JSON.stringify(muted));
    for (const g of muted) assert.equal(g.packets, 0, `${g.label} still gets pupil1's audio after mute all`);

    // Chat goes round, in order, with the author's name.
    await openPanel(second);
    await second.page.fill('#chat-input', 'Bonjour à tous <b>!</b>');
    await second.page.click('#chat-send');
    for (const reader of [teacher, third]) {
      await openPanel(reader);
      await waitUntil(reader, 'the chat message', () =>
        [...document.querySelectorAll('#chat-list .chat-text')].some((t) => t.textContent === 'Bonjour à tous <b>!</b>'));
    }
    assert.equal(await third.page.locator('#chat-list b').count(), 0, 'chat text is shown as text, never as HTML');

    // Remove and bar pupil3: a clear message, and the same browser cannot come back.
    const menu = teacher.page.locator(`#roster [data-row="${ids[2]}"] details summary`);
    await menu.click();
    await teacher.page.locator(`#roster [data-row="${ids[2]}"] [data-action="kick"]`).nth(1).click();
    await waitUntil(third, 'the removed message', () => window.classroom.state === 'error' &&
      /removed/.test(document.getElementById('status-text').textContent));
    const again = await third.context.newPage();
    await again.goto(`${room.pupil_url}&prejoin=0`);
    await again.waitForFunction(() => window.classroom?.state === 'error', null, { timeout: UI_TIMEOUT_MS });
    assert.match(await again.textContent('#status-text'), /cannot come back/);
    await waitUntil(teacher, 'pupil3 gone from the list', (id) => !document.querySelector(`#roster [data-row="${id}"]`), ids[2]);

    // The lobby: newcomers wait until the teacher admits them.
    await teacher.page.selectOption('#guest-policy', 'ask_teacher');
    await sleep(300);
    const late = await openPage('latecomer', `${room.pupil_url}&prejoin=0`, { name: 'Hugo' });
    await waitUntil(late, 'the waiting-room message', () => window.classroom.state === 'lobby');
    const waiting = teacher.page.locator('#lobby-list [data-action="admit"]');
    await waiting.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await waiting.click();
    const lateInfo = await waitJoined(late);
    assert.equal(lateInfo.role, 'pupil');
  });
});
