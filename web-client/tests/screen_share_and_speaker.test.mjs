// A teacher shares their screen beside the camera: pupils get it large on the stage (decoded, per
// getStats()) and lose it when the share stops. The one speaking is highlighted for everyone, from
// the audio levels the browser sends (detected at the server).

import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  SAMPLE_GAP_MS,
  createRoom,
  openPage,
  screenFrames,
  sleep,
  useHarness,
  waitJoined,
  waitUntil,
  withDiagnostics,
  writeToneWav,
} from './helpers.mjs';

// Everyone's fake microphone plays a steady tone, so the server hears a speaker.
const TONE = path.join(ARTIFACTS, 'tone.wav');
mkdirSync(ARTIFACTS, { recursive: true });
writeToneWav(TONE);
useHarness({ chromiumArgs: [`--use-file-for-fake-audio-capture=${TONE}`] });

test('a teacher\'s screen share goes large for the pupils; the speaker is highlighted', { timeout: 150_000 }, async () => {
  await withDiagnostics('screen share', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`, { name: 'M. Bernard' });
    const teacherInfo = await waitJoined(teacher);
    const pupil = await openPage('pupil', `${room.pupil_url}&prejoin=0`, { name: 'Zoé' });
    await waitJoined(pupil);

    // The teacher's microphone plays the fake device's beep: the server names them the speaker.
    await waitUntil(pupil, 'the teacher highlighted as speaking', (id) =>
      document.querySelector(`.tile[data-participant="${id}"]`)?.classList.contains('speaking'), teacherInfo.id, 20_000);

    await waitUntil(teacher, 'the share button', () => !document.getElementById('share-screen').hidden);
    await teacher.page.click('#share-screen');
    await waitUntil(teacher, 'sharing', () => document.getElementById('share-screen').getAttribute('aria-pressed') === 'true');
    const screenTile = `${teacherInfo.id}/screen`;
    await waitUntil(pupil, 'the shared screen on the pupil\'s stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, screenTile, 20_000);
    // The tile shows as soon as the track is announced; its first decoded frame may come a little
    // later.
    const deadline = Date.now() + 20_000;
    let before = await screenFrames(pupil.page, teacherInfo.id);
    while (!(before > 0) && Date.now() < deadline) {
      await sleep(250);
      before = await screenFrames(pupil.page, teacherInfo.id);
    }
    await sleep(SAMPLE_GAP_MS);
    const after = await screenFrames(pupil.page, teacherInfo.id);
    assert.ok(before !== null && after > before, `the pupil decodes the shared screen: ${before} → ${after} frames`);
    await pupil.page.screenshot({ path: path.join(ARTIFACTS, 'pupil-sees-screen.png') });

    await teacher.page.click('#share-screen');
    await waitUntil(pupil, 'the teacher back on the stage once the share stops', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, teacherInfo.id, 20_000);
  });
});
