// A pupil whose connection to the server drops for a few seconds comes back without reloading:
// a "reconnecting" banner meanwhile, the others see them as reconnecting (not gone), the chat they
// missed is replayed, and the teacher's video keeps decoding. A browser whose camera and microphone
// are refused can still join and is told why.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  assertMediaGrew,
  createRoom,
  openPage,
  restartServer,
  sampleInbound,
  sleep,
  startCuttableProxy,
  useHarness,
  via,
  waitFirstMedia,
  waitJoined,
  waitUntil,
  withDiagnostics,
} from './helpers.mjs';

useHarness();

test('a dropped connection comes back with the chat it missed, without a reload', { timeout: 180_000 }, async () => {
  await withDiagnostics('reconnection', async () => {
    const room = await createRoom();
    const proxy = await startCuttableProxy();
    try {
      const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
      const teacherInfo = await waitJoined(teacher);
      const pupil = await openPage('pupil', via(proxy.baseUrl, `${room.pupil_url}&prejoin=0`));
      const pupilInfo = await waitJoined(pupil);
      await waitFirstMedia(pupil, [{ participant: teacherInfo.id, kind: 'video' }]);
      await pupil.page.evaluate(() => {
        window.reloaded = false;
        window.addEventListener('beforeunload', () => { window.reloaded = true; });
      });

      proxy.cut();
      await waitUntil(pupil, 'the reconnecting banner', () =>
        !document.getElementById('reconnect-banner').hidden && window.classroom.state === 'reconnecting');
      await waitUntil(teacher, 'the pupil shown as reconnecting, not gone', (id) =>
        window.classroom.participants.get(id)?.reconnecting === true, pupilInfo.id);

      // Said while the pupil was away.
      await teacher.page.click('#toggle-panel');
      await teacher.page.fill('#chat-input', 'Page 42, exercice 3');
      await teacher.page.click('#chat-send');
      await sleep(1500);

      proxy.restore();
      await waitUntil(pupil, 'back in the class', () =>
        window.classroom.state === 'joined' && document.getElementById('reconnect-banner').hidden, null, 30_000);
      await waitUntil(pupil, 'the missed chat message replayed', () =>
        [...document.querySelectorAll('#chat-list .chat-text')].some((t) => t.textContent === 'Page 42, exercice 3'));
      await waitUntil(teacher, 'the pupil back to normal', (id) =>
        window.classroom.participants.get(id)?.reconnecting === false, pupilInfo.id);
      assert.equal(await pupil.page.evaluate(() => window.reloaded), false, 'the page was not reloaded');
      assert.equal((await pupil.page.evaluate(() => window.classroom.you.id)), pupilInfo.id, 'same participant');

      const [sample] = await sampleInbound([pupil]);
      assertMediaGrew(sample, teacherInfo.id, 'video', "after reconnecting, the pupil still decodes the teacher's video");
    } finally {
      proxy.close();
    }
  });
});

test('a browser that refuses the camera and microphone can still join and is told why', { timeout: 90_000 }, async () => {
  await withDiagnostics('denied devices', async () => {
    const room = await createRoom();
    const pupil = await openPage('pupil-denied', 'about:blank');
    await pupil.context.addInitScript(() => {
      const deny = async () => {
        throw new DOMException('Permission denied', 'NotAllowedError');
      };
      navigator.mediaDevices.getUserMedia = deny;
    });
    await pupil.page.goto(room.pupil_url);
    await waitUntil(pupil, 'the explanation on the pre-join screen', () =>
      /blocked the camera and microphone/.test(document.getElementById('media-problem').textContent));
    await pupil.page.fill('#name', 'Sam');
    await pupil.page.click('#join');
    await waitJoined(pupil);
    assert.equal(await pupil.page.isDisabled('#toggle-mic'), true, 'no microphone to turn on');
    assert.match(await pupil.page.textContent('#class-notice-text'), /blocked the camera and microphone/);
  });
});

test('after a server restart the page says what happened and what to do, and keeps working', { timeout: 120_000 }, async () => {
  await withDiagnostics('server restart', async () => {
    const room = await createRoom();
    const pupil = await openPage('pupil-restart', `${room.pupil_url}&prejoin=0`);
    await waitJoined(pupil);
    await restartServer(2000);
    // The new server never heard of this class (classes live in memory): the pupil is told so,
    // with a way back to the start page, instead of a dead page.
    await waitUntil(pupil, 'a clear message after the restart', () =>
      window.classroom.state === 'error' && /does not exist or has ended/.test(document.getElementById('status-text').textContent),
    null, 45_000);
    assert.equal(await pupil.page.isVisible('#home'), true, 'a link back to the start page');
    // The page still works: the start page creates a new class.
    await pupil.page.click('#home');
    await pupil.page.click('#create-class');
    await pupil.page.waitForSelector('#links:not([hidden])');
  });
});
