// A barred pupil cannot get back in through the official client by having a name refused first:
// the join sent again from the pre-join screen (same socket) carries the device id like the
// first one did. The name "Teacher" is refused for a pupil (a role word), which is the way in.

import test from 'node:test';
import assert from 'node:assert/strict';
import { UI_TIMEOUT_MS, createRoom, openPage, useHarness, waitJoined, withDiagnostics } from './helpers.mjs';

useHarness();

/** On `page`, after the server refused the name: types `name` and joins again. */
async function retypeName(page, name) {
  await page.waitForSelector('#prejoin-screen:not([hidden])', { timeout: UI_TIMEOUT_MS });
  await page.waitForFunction(() => !document.getElementById('name-error').hidden, null, { timeout: UI_TIMEOUT_MS });
  assert.match(await page.textContent('#name-error'), /role/);
  await page.fill('#name', name);
  await page.click('#join');
}

test('a barred pupil stays out even after a refused name', { timeout: 120_000 }, async () => {
  await withDiagnostics('bar-after-refused-name', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    await waitJoined(teacher);

    const pupil = await openPage('pupil', `${room.pupil_url}&prejoin=0`, { name: 'Teacher' });
    await retypeName(pupil.page, 'Zoé');
    const you = await waitJoined(pupil);
    assert.equal(you.role, 'pupil');

    await teacher.page.waitForSelector(`#roster [data-row="${you.id}"]`, { state: 'attached', timeout: UI_TIMEOUT_MS });
    if ((await teacher.page.getAttribute('#toggle-panel', 'aria-pressed')) !== 'true') {
      await teacher.page.click('#toggle-panel');
    }
    await teacher.page.locator(`#roster [data-row="${you.id}"] details summary`).click();
    await teacher.page.locator(`#roster [data-row="${you.id}"] [data-action="kick"]`).nth(1).click();
    await pupil.page.waitForFunction(() => window.classroom.state === 'error', null, { timeout: UI_TIMEOUT_MS });

    // Same browser (same device id), the link again, the name refused again, then retyped.
    const again = await pupil.context.newPage();
    await again.goto(`${room.pupil_url}&prejoin=0`);
    await retypeName(again, 'Zoé B');
    await again.waitForFunction(() => window.classroom?.state === 'error', null, { timeout: UI_TIMEOUT_MS });
    assert.match(await again.textContent('#status-text'), /cannot come back/);
    const rows = await teacher.page.locator('#roster [data-row]').count();
    assert.equal(rows, 1, 'only the teacher is in the class');
  });
});
