// The class view's layout: a pupil sees the teacher large; a teacher sees a grid and can pin a
// pupil large with the keyboard alone; on a phone-sized screen nothing overflows sideways and the
// controls stay reachable.

import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, createRoom, openPage, useHarness, waitJoined, waitUntil, withDiagnostics } from './helpers.mjs';

useHarness();

const PHONE = { width: 390, height: 844 };

/** Which participant each container shows: `{stage: [ids], grid: [visible ids]}`. */
function placement(page) {
  return page.evaluate(() => ({
    stage: document.getElementById('stage').hidden
      ? []
      : [...document.querySelectorAll('#stage .tile')].map((t) => t.dataset.participant),
    grid: [...document.querySelectorAll('#grid .tile')].filter((t) => !t.hidden).map((t) => t.dataset.participant),
  }));
}

test('a pupil sees the teacher large; a teacher pins a pupil large with the keyboard', { timeout: 120_000 }, async () => {
  await withDiagnostics('class view', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const pupil = await openPage('pupil', `${room.pupil_url}&prejoin=0`);
    const teacherInfo = await waitJoined(teacher);
    const pupilInfo = await waitJoined(pupil);

    await waitUntil(pupil, 'the teacher on the pupil\'s stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, teacherInfo.id);
    assert.deepEqual(await placement(pupil.page), { stage: [teacherInfo.id], grid: [pupilInfo.id] });

    await waitUntil(teacher, 'the pupil in the teacher\'s grid', (id) =>
      document.querySelector(`#grid .tile[data-participant="${id}"]`) !== null, pupilInfo.id);
    assert.deepEqual(await placement(teacher.page), { stage: [], grid: [teacherInfo.id, pupilInfo.id] });

    // Keyboard only: Tab until the pupil's pin button has focus, then Enter.
    const pin = `.tile[data-participant="${pupilInfo.id}"] .pin`;
    let focused = false;
    for (let i = 0; i < 20 && !focused; i += 1) {
      await teacher.page.keyboard.press('Tab');
      focused = await teacher.page.evaluate((s) => document.activeElement === document.querySelector(s), pin);
    }
    assert.ok(focused, 'the pin button is reachable with Tab');
    const label = await teacher.page.getAttribute(pin, 'aria-label');
    assert.match(label, /Show .* large/);
    await teacher.page.keyboard.press('Enter');
    await waitUntil(teacher, 'the pinned pupil on the stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, pupilInfo.id);
    assert.equal(await teacher.page.getAttribute(pin, 'aria-pressed'), 'true');
    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'teacher-pinned.png') });
    await teacher.page.click(pin);
    await waitUntil(teacher, 'the stage empty again', () => document.getElementById('stage').hidden);
  });
});

test('on a phone-sized screen nothing overflows and the controls stay reachable', { timeout: 120_000 }, async () => {
  await withDiagnostics('phone', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher-desk', `${room.teacher_url}&prejoin=0`);
    await waitJoined(teacher);
    const phone = await openPage('pupil-phone', room.pupil_url, { viewport: PHONE });
    await phone.page.waitForSelector('#prejoin-screen:not([hidden])');
    const overflow = () => phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok((await overflow()) <= 0, `the pre-join screen overflows sideways by ${await overflow()} px`);
    await phone.page.fill('#name', 'Léa');
    await phone.page.click('#join');
    await waitJoined(phone);
    assert.ok((await overflow()) <= 0, `the class screen overflows sideways by ${await overflow()} px`);
    for (const id of ['toggle-mic', 'toggle-camera', 'leave']) {
      const box = await phone.page.locator(`#${id}`).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width, `#${id} is on screen: ${JSON.stringify(box)}`);
      assert.ok(box.width >= 24 && box.height >= 24, `#${id} is big enough to tap: ${JSON.stringify(box)}`);
    }
    await phone.page.screenshot({ path: path.join(ARTIFACTS, 'pupil-phone.png') });
  });
});
