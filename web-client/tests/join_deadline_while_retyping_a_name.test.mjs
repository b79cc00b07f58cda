// A socket that has not joined is closed by the server after its join deadline (4010). On the
// pre-join screen after a refused name, a pupil may take longer than that to retype: the page must
// not call that a lost connection, and the next join simply opens a new socket. The deadline is one
// second here, so the test waits past it.

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UI_TIMEOUT_MS, createRoom, openPage, sleep, useHarness, waitJoined, withDiagnostics } from './helpers.mjs';

const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'classroom-join-deadline-')), 'classroom.toml');
writeFileSync(config, '[limits]\njoin_deadline_secs = 1\n');
useHarness({ serverArgs: ['--config', config] });

test('a pupil slower than the join deadline to retype a refused name still joins', { timeout: 60_000 }, async () => {
  await withDiagnostics('join-deadline', async () => {
    const room = await createRoom();
    const pupil = await openPage('pupil', `${room.pupil_url}&prejoin=0`, { name: 'Teacher' });
    const { page } = pupil;
    await page.waitForSelector('#prejoin-screen:not([hidden])', { timeout: UI_TIMEOUT_MS });
    await page.waitForFunction(() => !document.getElementById('name-error').hidden, null, { timeout: UI_TIMEOUT_MS });
    // Past the deadline: the server closes the unjoined socket meanwhile.
    await sleep(2_500);
    assert.equal(await page.evaluate(() => window.classroom.state), 'prejoin', 'still on the pre-join screen');
    await page.fill('#name', 'Zoé');
    await page.click('#join');
    const you = await waitJoined(pupil);
    assert.equal(you.role, 'pupil');
    assert.ok(pupil.logs.some((line) => /code 4010/.test(line)), 'the first socket was closed at the deadline');
  });
});
