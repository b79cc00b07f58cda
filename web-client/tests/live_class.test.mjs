// End-to-end: the real `classroom` binary and real Chromium (fake camera and microphone).
// A teacher and two pupils join one class; the test reads each page's WebRTC stats and checks that
// media really flows teacher → pupils (video frames decoded, audio packets received) and
// pupils → teacher (audio), naming each inbound stream by its mid through window.classroom.tracks.
// The harness (server, browser, waits, stats) is in helpers.mjs.
//
// Env: CLASSROOM_BIN (default <repo>/target/release/classroom), CHROMIUM_BIN (default /usr/bin/chromium).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ARTIFACTS,
  JOIN_TIMEOUT_MS,
  SAMPLE_GAP_MS,
  assertMediaGrew,
  closePage,
  createRoom,
  harness,
  openPage,
  sampleInbound,
  stream,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  waitUntil,
  withDiagnostics,
} from './helpers.mjs';

useHarness();

// ---- Tests ---------------------------------------------------------------------------------

test('the start page creates a class and shows its teacher, pupil and observer links', { timeout: 60_000 }, async () => {
  await withDiagnostics('landing', async () => {
    const visitor = await openPage('landing', `${harness.baseUrl}/`);
    await visitor.page.click('#create-class');
    await visitor.page.waitForFunction(
      () => ['teacher-url', 'pupil-url', 'observer-url']
        .every((id) => document.getElementById(id).getAttribute('href') !== ''),
      null,
      { timeout: 10_000 },
    );
    const links = await visitor.page.evaluate(() => ({
      teacher: document.getElementById('teacher-url').href,
      pupil: document.getElementById('pupil-url').href,
      observer: document.getElementById('observer-url').href,
      visible: !document.getElementById('links').hidden,
    }));
    assert.ok(links.visible, 'the links section is shown');
    for (const url of [links.teacher, links.pupil, links.observer]) {
      const u = new URL(url);
      assert.match(u.pathname, /^\/class\/[^/]+$/, `${url} is a class link`);
      assert.ok(u.searchParams.get('token'), `${url} carries a token`);
    }
    const tokens = new Set([links.teacher, links.pupil, links.observer].map((u) => new URL(u).searchParams.get('token')));
    assert.equal(tokens.size, 3, 'three different tokens');
    await visitor.page.screenshot({ path: path.join(ARTIFACTS, 'landing.png') });
  });
});

test('a pupil joins through the pre-join screen with a chosen name', { timeout: 90_000 }, async () => {
  await withDiagnostics('prejoin', async () => {
    const room = await createRoom();
    const pupil = await openPage('prejoin-pupil', room.pupil_url);
    const { page } = pupil;
    await page.waitForFunction(
      () => document.getElementById('camera-select').options.length > 0 &&
        !document.getElementById('camera-select').disabled &&
        document.getElementById('preview').srcObject !== null,
      null,
      { timeout: JOIN_TIMEOUT_MS },
    );
    await page.fill('#name', 'Ada Lovelace');
    // The fake microphone plays a beep: the level meter must show it before joining.
    await page.waitForFunction(() => document.getElementById('mic-level').value > 0.1, null, { timeout: 10_000 })
      .catch((error) => { throw new Error(`the microphone level meter never moved: ${error.message}`); });
    await page.screenshot({ path: path.join(ARTIFACTS, 'prejoin.png') });
    await page.click('#join');
    const you = await waitJoined(pupil);
    assert.equal(you.name, 'Ada Lovelace');
    assert.equal(you.role, 'pupil');
    assert.equal(await page.evaluate(() => localStorage.getItem('classroom.name')), 'Ada Lovelace');
    assert.equal(await page.getAttribute('#toggle-mic', 'aria-pressed'), 'false', 'pupils join with the mic off');
    await page.click('#toggle-mic');
    assert.equal(await page.getAttribute('#toggle-mic', 'aria-pressed'), 'true');
    await page.click('#leave');
    await page.waitForFunction(() => window.classroom.state === 'left', null, { timeout: 10_000 });
    await closePage(pupil);
  });
});

test('a teacher and two pupils see and hear each other', { timeout: 180_000 }, async () => {
  await withDiagnostics('live class', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const pupils = [
      await openPage('pupil1', `${room.pupil_url}&prejoin=0`),
      await openPage('pupil2', `${room.pupil_url}&prejoin=0`),
    ];

    const teacherInfo = await waitJoined(teacher);
    assert.equal(teacherInfo.role, 'teacher');
    const pupilIds = [];
    for (const pupil of pupils) {
      const info = await waitJoined(pupil);
      assert.equal(info.role, 'pupil');
      pupilIds.push(info.id);
    }

    const fromTeacher = [
      { participant: teacherInfo.id, kind: 'audio' },
      { participant: teacherInfo.id, kind: 'video' },
    ];
    const fromPupils = pupilIds.map((id) => ({ participant: id, kind: 'audio' }));
    for (const pupil of pupils) await waitTracks(pupil, fromTeacher);
    await waitTracks(teacher, fromPupils);
    for (const pupil of pupils) await waitFirstMedia(pupil, fromTeacher);
    await waitFirstMedia(teacher, fromPupils);

    const pages = [teacher, ...pupils];
    const samples = await sampleInbound(pages);

    for (const [i, p] of pages.entries()) {
      console.log(`${p.label} inbound streams (first → second sample):`);
      const { earlier, later } = samples[i];
      for (const s of later) {
        const before = earlier.find((f) => f.mid === s.mid);
        console.log(
          `  mid ${s.mid} ${s.kind} from ${s.participant}: packets ${before?.packetsReceived} → ${s.packetsReceived}` +
            (s.kind === 'video' ? `, frames decoded ${before?.framesDecoded} → ${s.framesDecoded}` : ''),
        );
        if (s.participant !== null) assert.equal(s.announcedKind, s.kind, `mid ${s.mid} carries the announced kind`);
      }
    }

    for (const [i, pupil] of pupils.entries()) {
      assertMediaGrew(samples[i + 1], teacherInfo.id, 'video', `${pupil.label} decodes the teacher`);
      assertMediaGrew(samples[i + 1], teacherInfo.id, 'audio', `${pupil.label} hears the teacher`);
    }
    for (const id of pupilIds) assertMediaGrew(samples[0], id, 'audio', 'the teacher hears each pupil');

    // Pupils come in with the microphone off, and the server's answer asks every Opus sender for
    // DTX (usedtx=1): their silence goes out as a packet every few hundred ms, not 50 a second
    // (measured: about 5 a second with DTX, 51 without). Above zero: the stream stays alive.
    for (const id of pupilIds) {
      const [a, b] = [stream(samples[0].earlier, id, 'audio'), stream(samples[0].later, id, 'audio')];
      const perSecond = (b.packetsReceived - a.packetsReceived) / (SAMPLE_GAP_MS / 1000);
      assert.ok(
        perSecond > 0 && perSecond < 20,
        `a pupil with the mic off sends DTX silence: ${perSecond} audio packets/s reach the teacher`,
      );
    }

    // Every participant has a tile (self included), named and with a role.
    const tiles = await teacher.page.evaluate(() =>
      [...document.querySelectorAll('#grid .tile')].map((t) => ({
        id: t.dataset.participant,
        role: t.dataset.role,
        name: t.querySelector('.name').textContent,
      })),
    );
    assert.equal(tiles.length, 3, `the teacher sees three tiles: ${JSON.stringify(tiles)}`);

    // Over loopback nothing is lost: each pupil marks the teacher's connection good, in words too.
    for (const pupil of pupils) {
      await waitUntil(pupil, 'the teacher\'s tile shows a good connection', (id) =>
        document.querySelector(`#stage .tile[data-participant="${id}"]`)?.dataset.quality === 'good', teacherInfo.id);
      const label = await pupil.page.getAttribute(`#stage .tile[data-participant="${teacherInfo.id}"] .quality`, 'aria-label');
      assert.equal(label, 'Connection: good');
    }

    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'teacher.png') });
    await pupils[0].page.screenshot({ path: path.join(ARTIFACTS, 'pupil1.png') });
  });
});
