// End-to-end, like live_class.test.mjs (real `classroom` binary, real Chromium with fake devices):
// - pupils leaving and joining: the server reuses the m-lines of a pupil who left for the next one,
//   so the teacher's peer connection does not grow, and media from the newcomer really flows;
// - links that cannot work (forged token, unknown room, incomplete link) end on an error screen the
//   user can read;
// - a pupil turning the microphone / camera off is shown as such on the teacher's screen.
//
// Env: CLASSROOM_BIN (default <repo>/target/release/classroom), CHROMIUM_BIN (default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  ARTIFACTS,
  SAMPLE_GAP_MS,
  UI_TIMEOUT_MS,
  closePage,
  createRoom,
  harness,
  inboundStats,
  openPage,
  problemsLogged,
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

const CHURN_ROUNDS = 3;

/** A token of the server's shape (128 random bits, URL-safe base64) that no room issued. */
function forgedToken() {
  return randomBytes(16).toString('base64url');
}

/** The CSS selector of `id`'s tile. */
function tileSelector(id) {
  return `#grid .tile[data-participant="${id}"]`;
}

/** The strings module of the page, so that expectations follow the UI text. */
function pageStrings(page) {
  return page.evaluate(async () => (await import('/js/strings.js')).STRINGS);
}

/**
 * The teacher's view of its peer connection: every transceiver (mid, direction) and which
 * participant each receiving mid is announced for.
 */
function transceivers(page) {
  return page.evaluate(() => {
    const c = window.classroom;
    return c.pc.getTransceivers().map((t) => ({
      mid: t.mid,
      direction: t.direction,
      currentDirection: t.currentDirection,
      participant: c.tracks.get(t.mid)?.participant ?? null,
      kind: c.tracks.get(t.mid)?.kind ?? t.receiver.track.kind,
    }));
  });
}

// ---- m-line reuse --------------------------------------------------------------------------

test('pupils who leave free their m-lines for the next pupil, and media keeps flowing', { timeout: 300_000 }, async () => {
  await withDiagnostics('m-line reuse', async () => {
    const room = await createRoom();
    const teacher = await openPage('churn-teacher', `${room.teacher_url}&prejoin=0`);
    await waitJoined(teacher);

    /** Opens a pupil, waits until the teacher plays its audio and video; returns its mids on the teacher. */
    const joinPupil = async (label) => {
      const pupil = await openPage(label, `${room.pupil_url}&prejoin=0`);
      const info = await waitJoined(pupil);
      assert.equal(info.role, 'pupil');
      const expected = [
        { participant: info.id, kind: 'audio' },
        { participant: info.id, kind: 'video' },
      ];
      await waitTracks(teacher, expected);
      await waitFirstMedia(teacher, expected);
      // The teacher sees the newcomer's video in its tile (not just in getStats).
      await waitUntil(
        teacher,
        `the tile of ${label} shows its video`,
        (selector) => {
          const tile = document.querySelector(selector);
          const video = tile?.querySelector('video');
          return Boolean(video) && !tile.classList.contains('no-video') && video.videoWidth > 0 && !video.paused;
        },
        tileSelector(info.id),
      );
      const mids = await teacher.page.evaluate(
        (id) => Object.fromEntries([...window.classroom.tracks].filter(([, t]) => t.participant === id).map(([mid, t]) => [t.kind, mid])),
        info.id,
      );
      return { pupil, info, mids };
    };

    /** Samples the teacher's stats twice and checks audio and video of `info` grow. */
    const assertMediaFlows = async (round, info) => {
      const first = await inboundStats(teacher.page);
      await sleep(SAMPLE_GAP_MS);
      const second = await inboundStats(teacher.page);
      console.log(`round ${round}: teacher inbound streams (first → second sample):`);
      for (const s of second) {
        const before = first.find((f) => f.ssrc === s.ssrc);
        console.log(
          `  mid ${s.mid} ssrc ${s.ssrc} ${s.kind} from ${s.participant}: packets ${before?.packetsReceived} → ${s.packetsReceived}` +
            (s.kind === 'video' ? `, frames decoded ${before?.framesDecoded} → ${s.framesDecoded}` : ''),
        );
        if (s.participant !== null) assert.equal(s.announcedKind, s.kind, `mid ${s.mid} carries the announced kind`);
      }
      const audioBefore = stream(first, info.id, 'audio');
      const audioAfter = stream(second, info.id, 'audio');
      assert.ok(audioBefore && audioAfter, `round ${round}: the teacher has an inbound audio stream from ${info.id}`);
      assert.ok(
        audioAfter.packetsReceived > audioBefore.packetsReceived,
        `round ${round}: the teacher receives audio of ${info.id}: ${audioBefore.packetsReceived} → ${audioAfter.packetsReceived} packets`,
      );
      const videoBefore = stream(first, info.id, 'video');
      const videoAfter = stream(second, info.id, 'video');
      assert.ok(videoBefore && videoAfter, `round ${round}: the teacher has an inbound video stream from ${info.id}`);
      assert.ok(
        videoAfter.framesDecoded > videoBefore.framesDecoded,
        `round ${round}: the teacher decodes video of ${info.id}: ${videoBefore.framesDecoded} → ${videoAfter.framesDecoded} frames`,
      );
    };

    /** At most the two own (sendonly) m-lines and one audio + one video m-line for the one pupil. */
    const assertTransceiverBound = async (round, info) => {
      const list = await transceivers(teacher.page);
      console.log(`round ${round}: teacher transceivers ${JSON.stringify(list)}`);
      assert.ok(list.length <= 4, `round ${round}: the teacher has ${list.length} transceivers (at most 4): ${JSON.stringify(list)}`);
      const receiving = list.filter((t) => t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv');
      assert.deepEqual(
        receiving.map((t) => `${t.participant}/${t.kind}`).sort(),
        [`${info.id}/audio`, `${info.id}/video`],
        `round ${round}: the teacher receives exactly the present pupil's audio and video: ${JSON.stringify(list)}`,
      );
      const sending = list.filter((t) => t.currentDirection === 'sendonly');
      assert.equal(sending.length, 2, `round ${round}: the teacher still publishes audio and video: ${JSON.stringify(list)}`);
    };

    let current = await joinPupil('churn-pupil0');
    const firstMids = current.mids;
    assert.ok(firstMids.audio && firstMids.video, `the first pupil's mids are announced: ${JSON.stringify(firstMids)}`);
    await assertMediaFlows(0, current.info);
    await assertTransceiverBound(0, current.info);

    for (let round = 1; round <= CHURN_ROUNDS; round += 1) {
      const leaving = current;
      await leaving.pupil.page.click('#leave');
      await waitUntil(leaving.pupil, 'the page reaches state "left"', () => window.classroom.state === 'left');
      await waitUntil(
        teacher,
        `the tile of ${leaving.pupil.label} (${leaving.info.id}) goes away`,
        ({ selector, id }) =>
          document.querySelector(selector) === null &&
          !window.classroom.participants.has(id) &&
          ![...window.classroom.tracks.values()].some((t) => t.participant === id),
        { selector: tileSelector(leaving.info.id), id: leaving.info.id },
      );
      await closePage(leaving.pupil);

      current = await joinPupil(`churn-pupil${round}`);
      console.log(`round ${round}: ${current.info.id} got mids ${JSON.stringify(current.mids)} (first pupil: ${JSON.stringify(firstMids)})`);
      assert.deepEqual(current.mids, firstMids, `round ${round}: the newcomer reuses the m-lines of the pupil who left`);
      await assertMediaFlows(round, current.info);
      await assertTransceiverBound(round, current.info);
      const tiles = await teacher.page.evaluate(() => [...document.querySelectorAll('#grid .tile')].map((t) => t.dataset.participant));
      assert.equal(tiles.length, 2, `round ${round}: the teacher sees its own tile and the present pupil's: ${JSON.stringify(tiles)}`);
    }
    assert.deepEqual(problemsLogged(teacher), [], 'the teacher\'s page logged no warning or error through the churn');
    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'churn-teacher.png') });
  });
});

// ---- Error screens -------------------------------------------------------------------------

/**
 * Waits for the error screen of `participant` and checks that it tells the user `expectedText` in
 * a visible alert, offers the way back to the start page, and set up no media.
 */
async function expectErrorScreen(participant, expectedText, { home = true } = {}) {
  const { page, label } = participant;
  await waitUntil(participant, 'the page reaches state "error"', () => window.classroom?.state === 'error');
  const alert = page.getByRole('alert');
  await alert.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  assert.equal((await alert.textContent()).trim(), expectedText, `${label}: the alert tells what went wrong`);
  assert.equal(await page.evaluate(() => window.classroom.state), 'error');
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'error');
  assert.equal(await page.evaluate(() => window.classroom.pc), null, `${label}: no peer connection was set up`);
  assert.ok(await page.locator('#class-screen').isHidden(), `${label}: the class screen is not shown`);
  assert.equal(await page.locator('#home').isVisible(), home, `${label}: the start page link is ${home ? '' : 'not '}offered`);
  // Nothing later (the socket closing, a timer) replaces the message.
  await sleep(1_000);
  assert.equal(await page.evaluate(() => window.classroom.state), 'error', `${label}: the state stays "error"`);
  assert.equal((await alert.textContent()).trim(), expectedText, `${label}: the message stays`);
  assert.deepEqual(problemsLogged(participant), [], `${label}: the page logged no warning or error`);
  await page.screenshot({ path: path.join(ARTIFACTS, `${label}.png`) });
}

test('a link with a forged token ends on a readable error', { timeout: 60_000 }, async () => {
  await withDiagnostics('forged token', async () => {
    const room = await createRoom();
    const url = new URL(room.pupil_url);
    url.searchParams.set('token', forgedToken());
    url.searchParams.set('prejoin', '0');
    const visitor = await openPage('forged-token', url.href);
    const strings = await pageStrings(visitor.page);
    await expectErrorScreen(visitor, strings.errors.bad_token);
    await closePage(visitor);
  });
});

test('a forged token is refused after the pre-join screen too', { timeout: 60_000 }, async () => {
  await withDiagnostics('forged token via prejoin', async () => {
    const room = await createRoom();
    const url = new URL(room.teacher_url);
    url.searchParams.set('token', forgedToken());
    const visitor = await openPage('forged-token-prejoin', url.href);
    await waitUntil(visitor, 'the pre-join screen is shown', () =>
      window.classroom?.state === 'prejoin' && !document.getElementById('prejoin-screen').hidden &&
      !document.getElementById('camera-select').disabled,
    );
    await visitor.page.fill('#name', 'Mallory');
    await visitor.page.click('#join');
    const strings = await pageStrings(visitor.page);
    await expectErrorScreen(visitor, strings.errors.bad_token);
    await closePage(visitor);
  });
});

test('a link to a class that does not exist ends on a readable error', { timeout: 60_000 }, async () => {
  await withDiagnostics('unknown room', async () => {
    const url = new URL(`/class/${forgedToken()}`, harness.baseUrl);
    url.searchParams.set('token', forgedToken());
    url.searchParams.set('prejoin', '0');
    const visitor = await openPage('unknown-room', url.href);
    const strings = await pageStrings(visitor.page);
    await expectErrorScreen(visitor, strings.errors.no_such_room);
    await closePage(visitor);
  });
});

test('an incomplete link ends on a readable error without contacting the server', { timeout: 60_000 }, async () => {
  await withDiagnostics('incomplete link', async () => {
    const room = await createRoom();
    const url = new URL(room.pupil_url);
    url.searchParams.delete('token');
    const visitor = await openPage('incomplete-link', url.href);
    const strings = await pageStrings(visitor.page);
    await expectErrorScreen(visitor, strings.badLink);
    assert.deepEqual(visitor.sockets, [], 'the page opened no signalling socket');
    await closePage(visitor);
  });
});

// ---- Mic and camera toggles ----------------------------------------------------------------

test('a pupil turning the mic and camera off is shown so on the teacher’s screen', { timeout: 120_000 }, async () => {
  await withDiagnostics('mic toggle', async () => {
    const room = await createRoom();
    const teacher = await openPage('toggle-teacher', `${room.teacher_url}&prejoin=0`);
    await waitJoined(teacher);
    const pupil = await openPage('toggle-pupil', `${room.pupil_url}&prejoin=0`);
    const pupilInfo = await waitJoined(pupil);
    const strings = await pageStrings(teacher.page);

    const pupilTile = teacher.page.locator(tileSelector(pupilInfo.id));
    await pupilTile.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const micOff = pupilTile.getByRole('img', { name: strings.micOff });
    const cameraOff = pupilTile.getByRole('img', { name: strings.cameraOff });
    const selfMicOff = pupil.page.locator('#grid .tile.self').getByRole('img', { name: strings.micOff });
    const micButton = pupil.page.locator('#toggle-mic');
    const cameraButton = pupil.page.locator('#toggle-camera');

    // Pupils come in with the microphone off and the camera on.
    assert.equal(await micButton.getAttribute('aria-pressed'), 'false', 'a pupil\'s mic button starts unpressed (off)');
    assert.equal(await cameraButton.getAttribute('aria-pressed'), 'true', 'the camera button starts pressed (on)');
    await micOff.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }).catch((error) => {
      throw new Error(`the teacher does not see the newly joined pupil's mic off: ${error.message}`);
    });
    assert.ok(await cameraOff.isHidden(), 'the teacher sees the pupil’s camera on at first');

    // Mic on: the teacher's tile for the pupil stops showing "Microphone off".
    await micButton.click();
    assert.equal(await micButton.getAttribute('aria-pressed'), 'true', 'the mic button is pressed');
    await micOff.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS }).catch((error) => {
      throw new Error(`the teacher still sees the pupil's mic off: ${error.message}`);
    });
    assert.equal(
      await teacher.page.evaluate((id) => window.classroom.participants.get(id).audio, pupilInfo.id),
      true,
      'the teacher recorded the pupil’s mic as on (participant_updated)',
    );

    // Mic off again.
    await micButton.click();
    assert.equal(await micButton.getAttribute('aria-pressed'), 'false', 'the mic button is no longer pressed');
    await micOff.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }).catch((error) => {
      throw new Error(`the teacher does not see the pupil's mic off: ${error.message}`);
    });
    await selfMicOff.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.ok(await cameraOff.isHidden(), 'turning the mic off leaves the camera shown as on');
    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'toggle-teacher-mic-off.png') });

    // Camera off: the indicator, and the tile hides the video (shows the avatar).
    await cameraButton.click();
    assert.equal(await cameraButton.getAttribute('aria-pressed'), 'false', 'the camera button is no longer pressed');
    await cameraOff.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS }).catch((error) => {
      throw new Error(`the teacher does not see the pupil's camera off: ${error.message}`);
    });
    await waitUntil(teacher, 'the pupil’s tile hides the video', (s) => document.querySelector(s).classList.contains('no-video'), tileSelector(pupilInfo.id));
    assert.ok(await pupilTile.locator('.avatar').isVisible(), 'the pupil’s initials show instead of the video');
    await cameraButton.click();
    await cameraOff.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    await waitUntil(teacher, 'the pupil’s tile shows the video again', (s) => !document.querySelector(s).classList.contains('no-video'), tileSelector(pupilInfo.id));
    assert.deepEqual(problemsLogged(teacher), [], 'the teacher\'s page logged no warning or error');
    assert.deepEqual(problemsLogged(pupil), [], 'the pupil\'s page logged no warning or error');

    await closePage(pupil);
    await closePage(teacher);
  });
});
