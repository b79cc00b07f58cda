// A video the server stops sending to a viewer (`video_paused`) shows as the participant's avatar
// with a note saying why, not as a frozen frame, through layout changes, until `video_resumed`;
// a shared screen paused before its first frame starts paused. The test plays the server's part
// for these two messages alone (through Playwright's WebSocket routing, the real server's own
// pauses held back), so it does not depend on how a real link behaves; everything else is real.

import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, createRoom, openPage, useHarness, waitJoined, waitUntil, withDiagnostics } from './helpers.mjs';

useHarness();

/**
 * Opens the pre-join page of `url` (no socket yet), routes its signalling socket through the test,
 * and joins as `name`. Returns the participant and `send(message)`, which hands the page a server
 * message.
 */
async function joinThroughTest(label, url, { name, locale = 'en-US' }) {
  const participant = await openPage(label, url, { locale });
  let toPage = null;
  await participant.context.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    server.onMessage((message) => {
      // The server's own pauses (its estimate of this link) would race the test's.
      const type = typeof message === 'string' ? /^\{"type":"([a-z_]+)"/.exec(message)?.[1] : null;
      if (type !== 'video_paused' && type !== 'video_resumed') ws.send(message);
    });
    toPage = ws;
  });
  await participant.page.waitForSelector('#prejoin-screen:not([hidden])');
  await participant.page.fill('#name', name);
  await participant.page.click('#join');
  const info = await waitJoined(participant);
  return { participant, info, send: (message) => toPage.send(JSON.stringify(message)) };
}

/** What tile `id` shows: its pause reason, whether the video or the avatar shows, the note. */
function tileState(page, id) {
  return page.evaluate((tileId) => {
    const tile = document.querySelector(`.tile[data-participant="${tileId}"]`);
    if (!tile) return null;
    const note = tile.querySelector('.paused-note');
    const avatar = tile.querySelector('.avatar');
    return {
      paused: tile.dataset.videoPaused ?? null,
      video: getComputedStyle(tile.querySelector('video')).visibility !== 'hidden',
      avatar: getComputedStyle(avatar).display === 'none' ? null : avatar.textContent,
      note: note.hidden ? null : note.textContent,
      place: tile.parentElement.id,
    };
  }, id);
}

const paused = (page, id, reason) =>
  waitUntil(page, `tile ${id} paused (${reason})`, ([tileId, why]) =>
    (document.querySelector(`.tile[data-participant="${tileId}"]`)?.dataset.videoPaused ?? null) === why,
  [id, reason]);

test('a paused video shows the avatar and why, until it resumes', { timeout: 150_000 }, async () => {
  await withDiagnostics('video paused', async () => {
    const room = await createRoom();
    const teacher = await joinThroughTest('teacher', room.teacher_url, { name: 'M. Bernard' });
    const pupil = await joinThroughTest('pupil', room.pupil_url, { name: 'Zoé', locale: 'fr-FR' });
    const pupilId = pupil.info.id;
    const teacherId = teacher.info.id;

    await waitUntil(teacher.participant, 'the pupil\'s camera shown', (id) => {
      const tile = document.querySelector(`.tile[data-participant="${id}"]`);
      return tile && !tile.classList.contains('no-video') && tile.querySelector('video').videoWidth > 0;
    }, pupilId, 20_000);
    assert.deepEqual(await tileState(teacher.participant.page, pupilId),
      { paused: null, video: true, avatar: null, note: null, place: 'grid' });

    // Too little downlink for even the low layer: the avatar and a clear note, not a frozen frame.
    teacher.send({ type: 'video_paused', participant: pupilId, source: 'camera', reason: 'bandwidth' });
    await paused(teacher.participant, pupilId, 'bandwidth');
    assert.deepEqual(await tileState(teacher.participant.page, pupilId),
      { paused: 'bandwidth', video: false, avatar: 'Z', note: 'Video paused for your connection', place: 'grid' });

    // The state stays with the tile when the layout moves it.
    await teacher.participant.page.click(`.tile[data-participant="${pupilId}"] .pin`);
    await waitUntil(teacher.participant, 'the pupil pinned on the stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, pupilId);
    assert.deepEqual(await tileState(teacher.participant.page, pupilId),
      { paused: 'bandwidth', video: false, avatar: 'Z', note: 'Video paused for your connection', place: 'stage' });
    await teacher.participant.page.screenshot({ path: path.join(ARTIFACTS, 'teacher-video-paused.png') });
    await teacher.participant.page.click(`.tile[data-participant="${pupilId}"] .pin`);
    await waitUntil(teacher.participant, 'the stage empty again', () => document.getElementById('stage').hidden);

    // A newer message about the same video wins: beyond the last N, a calm note.
    teacher.send({ type: 'video_paused', participant: pupilId, source: 'camera', reason: 'last_n' });
    await paused(teacher.participant, pupilId, 'last_n');
    assert.deepEqual(await tileState(teacher.participant.page, pupilId),
      { paused: 'last_n', video: false, avatar: 'Z', note: 'Video off to save bandwidth', place: 'grid' });

    teacher.send({ type: 'video_resumed', participant: pupilId, source: 'camera' });
    await paused(teacher.participant, pupilId, null);
    assert.deepEqual(await tileState(teacher.participant.page, pupilId),
      { paused: null, video: true, avatar: null, note: null, place: 'grid' });

    // A shared screen paused before its tile exists starts paused (here in French).
    pupil.send({ type: 'video_paused', participant: teacherId, source: 'screen', reason: 'bandwidth' });
    await waitUntil(teacher.participant, 'the share button', () => !document.getElementById('share-screen').hidden);
    await teacher.participant.page.click('#share-screen');
    const screenTile = `${teacherId}/screen`;
    await waitUntil(pupil.participant, 'the shared screen on the pupil\'s stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, screenTile, 20_000);
    assert.deepEqual(await tileState(pupil.participant.page, screenTile), {
      paused: 'bandwidth',
      video: false,
      avatar: 'MB',
      note: 'Partage d’écran en pause à cause de votre connexion',
      place: 'stage',
    });
    await pupil.participant.page.screenshot({ path: path.join(ARTIFACTS, 'pupil-screen-paused.png') });
    pupil.send({ type: 'video_resumed', participant: teacherId, source: 'screen' });
    await paused(pupil.participant, screenTile, null);
    assert.equal((await tileState(pupil.participant.page, screenTile)).video, true);
    await teacher.participant.page.click('#share-screen');
    await waitUntil(pupil.participant, 'the screen tile gone once the share stops', (id) =>
      document.querySelector(`.tile[data-participant="${id}"]`) === null, screenTile, 20_000);
  });
});
