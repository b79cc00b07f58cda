// A class with Firefox in it: a Firefox teacher with a Firefox pupil, and both mixed pairs with
// Chromium. In each pairing both sides decode each other's camera and receive each other's sound
// (getStats()), a Firefox page whose sound waits for a click gets it through the page's "Turn on
// sound" button, and repeated window resizes move each side between the two simulcast layers with
// no freeze: frames decoded grow every second of every round, and the width received follows the
// tile. Last, a windowed Firefox shares its screen and the other side decodes it. No page logs a
// warning or an error.
//
// One server and at most one Firefox and one Chromium for the whole file (each Firefox costs about
// 300 MB and a core). Firefox gathers no loopback candidates, so the server announces one of this
// machine's own addresses for media (HTTP stays on loopback).

import test, { afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_MEDIA_TIMEOUT_MS,
  JOIN_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  closePage,
  createRoom,
  harness,
  inboundStats,
  keepResolution,
  machineAddress,
  openPage,
  problemsLogged,
  sampleInbound,
  screenFrames,
  sleep,
  stream,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  waitUntil,
  withDiagnostics,
  assertMediaGrew,
} from './helpers.mjs';

const MEDIA_ADDRESS = machineAddress();
useHarness({
  firefox: { windowed: true },
  serverArgs: ['--media-bind-ip', MEDIA_ADDRESS, '--public-ip', MEDIA_ADDRESS],
});

// Whatever a test left open (it failed half-way) would keep encoding on the shared cores.
afterEach(async () => {
  for (const participant of [...harness.opened]) await closePage(participant);
});

/** A window wide enough for a tile that needs the full layer, and one narrow enough for the low one. */
const WIDE = { width: 1024, height: 720 };
const NARROW = { width: 380, height: 720 };
/** Layer switches per viewer and pairing: down and up in turn. */
const SWITCHES = 6;
/** Seconds each round keeps sampling once the new width arrived. */
const SECONDS_AFTER_SWITCH = 2;
/**
 * Fewest frames one second must decode, as a share of the sender's frame rate: a freeze at a
 * switch decodes 0 to 4 a second, a busy shared machine still well over half.
 */
const MIN_SHARE_OF_FRAME_RATE = 0.25;

/** `participant`'s camera layers as sent: `{rid: {width, fps}}`. */
function layersSent(participant) {
  return participant.page.evaluate(async () => {
    const layers = {};
    (await window.classroom.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) {
        layers[s.rid] = { width: s.frameWidth ?? null, fps: s.framesPerSecond ?? null };
      }
    });
    return layers;
  });
}

/** Waits until `participant` sends both layers with a width; returns `{low, high}` widths and fps. */
async function waitBothLayers(participant) {
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  let layers = {};
  while (Date.now() < deadline) {
    layers = await layersSent(participant);
    if (layers.q?.width > 0 && layers.f?.width > layers.q.width) return { low: layers.q, high: layers.f };
    await sleep(250);
  }
  throw new Error(`${participant.label} never sent two camera layers: ${JSON.stringify(layers)}`);
}

/**
 * Resizes `viewer`'s window between wide and narrow `SWITCHES` times and reads, every second, the
 * frames decoded and the width of `sender`'s camera. Each round ends `SECONDS_AFTER_SWITCH` seconds
 * after the width the tile needs arrived. Returns the per-second record of every round.
 */
async function switchRounds(viewer, senderId, widths) {
  const rounds = [];
  for (let i = 0; i < SWITCHES; i += 1) {
    const narrow = i % 2 === 0;
    await viewer.page.setViewportSize(narrow ? NARROW : WIDE);
    const wanted = narrow ? widths.low : widths.high;
    const seconds = [];
    let arrivedAt = null;
    let previous = stream(await inboundStats(viewer.page), senderId, 'video');
    const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
    while (arrivedAt === null || seconds.length < arrivedAt + SECONDS_AFTER_SWITCH) {
      if (Date.now() > deadline) {
        throw new Error(
          `${viewer.label}: round ${i + 1} never brought ${wanted} wide; per second: ${JSON.stringify(seconds)}`,
        );
      }
      await sleep(1000);
      const now = stream(await inboundStats(viewer.page), senderId, 'video');
      seconds.push({ decoded: now.framesDecoded - previous.framesDecoded, width: now.frameWidth });
      if (arrivedAt === null && now.frameWidth === wanted) arrivedAt = seconds.length;
      previous = now;
    }
    rounds.push({ wanted, seconds });
  }
  return rounds;
}

/** Asserts no second of any round froze: each decoded at least `minimum` frames. */
function assertNoFreeze(rounds, minimum, what) {
  const line = rounds.map((r) => `${r.wanted}: ${r.seconds.map((s) => `${s.decoded}@${s.width}`).join(' ')}`);
  console.log(`${what} (frames decoded per second @ width), per round:\n  ${line.join('\n  ')}`);
  for (const [i, round] of rounds.entries()) {
    const frozen = round.seconds.filter((s) => s.decoded < minimum);
    assert.deepEqual(frozen, [], `${what}: round ${i + 1} (to ${round.wanted} wide) decoded under ${minimum} frames in a second`);
  }
}

/**
 * Sound: every remote <audio> of the page plays. A Firefox that waits for a click shows the
 * "Turn on sound" button; the test clicks it, as a user would, and the sound then plays.
 * Returns whether the button was needed.
 */
async function hearClass(participant) {
  const state = () =>
    participant.page.evaluate(() => ({
      button: !document.getElementById('enable-sound').hidden,
      paused: [...document.querySelectorAll('.tile audio')].filter((a) => a.srcObject !== null && a.paused).length,
      playing: [...document.querySelectorAll('.tile audio')].filter((a) => a.srcObject !== null && !a.paused).length,
    }));
  await waitUntil(participant, 'a remote audio element either playing or waiting for a click', () => {
    const audios = [...document.querySelectorAll('.tile audio')].filter((a) => a.srcObject !== null);
    return audios.length > 0 && (audios.every((a) => !a.paused) || !document.getElementById('enable-sound').hidden);
  });
  const before = await state();
  if (before.button) {
    await participant.page.click('#enable-sound');
    await waitUntil(participant, 'the sound playing after "Turn on sound"', () =>
      document.getElementById('enable-sound').hidden &&
      [...document.querySelectorAll('.tile audio')].every((a) => a.srcObject === null || !a.paused));
  }
  const after = await state();
  assert.equal(after.paused, 0, `${participant.label}: no remote sound left paused (${JSON.stringify({ before, after })})`);
  return before.button;
}

/** Total audio samples `participant` received from `from` (the decoder's output, not just packets). */
function samplesReceived(participant, from) {
  return participant.page.evaluate(async (id) => {
    const c = window.classroom;
    const mid = [...c.tracks].find(([, t]) => t.participant === id && t.kind === 'audio')?.[0];
    const transceiver = c.pc.getTransceivers().find((t) => t.mid === mid);
    let samples = null;
    (await c.pc.getStats(transceiver.receiver.track)).forEach((s) => {
      if (s.type === 'inbound-rtp') samples = s.totalSamplesReceived ?? null;
    });
    return samples;
  }, from);
}

const PAIRINGS = [
  { teacher: 'firefox', pupil: 'firefox' },
  { teacher: 'firefox', pupil: 'chromium' },
  { teacher: 'chromium', pupil: 'firefox' },
];

for (const pairing of PAIRINGS) {
  const name = `${pairing.teacher} teacher, ${pairing.pupil} pupil`;
  test(`${name}: each decodes and hears the other, and layer switches never freeze`, { timeout: 240_000 }, async () => {
    await withDiagnostics(name, async () => {
      const room = await createRoom();
      const teacher = await openPage(`teacher-${pairing.teacher}`, `${room.teacher_url}&prejoin=0`, { browser: pairing.teacher });
      const pupil = await openPage(`pupil-${pairing.pupil}`, `${room.pupil_url}&prejoin=0`, { browser: pairing.pupil });
      const teacherInfo = await waitJoined(teacher);
      const pupilInfo = await waitJoined(pupil);
      // Pupils join with the microphone off: this one turns it on to be heard.
      await pupil.page.click('#toggle-mic');
      await waitUntil(pupil, 'the microphone on', () => document.getElementById('toggle-mic').getAttribute('aria-pressed') === 'true');

      const both = (id) => [{ participant: id, kind: 'audio' }, { participant: id, kind: 'video' }];
      await waitTracks(pupil, both(teacherInfo.id));
      await waitTracks(teacher, both(pupilInfo.id));
      await waitFirstMedia(pupil, both(teacherInfo.id));
      await waitFirstMedia(teacher, both(pupilInfo.id));

      for (const page of [teacher, pupil]) {
        const clicked = await hearClass(page);
        console.log(`${page.label}: sound ${clicked ? 'waited for "Turn on sound"' : 'played at once'}`);
      }

      const samplesBefore = [await samplesReceived(pupil, teacherInfo.id), await samplesReceived(teacher, pupilInfo.id)];
      const [atTeacher, atPupil] = await sampleInbound([teacher, pupil]);
      assertMediaGrew(atPupil, teacherInfo.id, 'video', `${pupil.label} decodes the teacher`);
      assertMediaGrew(atPupil, teacherInfo.id, 'audio', `${pupil.label} receives the teacher's sound`);
      assertMediaGrew(atTeacher, pupilInfo.id, 'video', `${teacher.label} decodes the pupil`);
      assertMediaGrew(atTeacher, pupilInfo.id, 'audio', `${teacher.label} receives the pupil's sound`);
      const samplesAfter = [await samplesReceived(pupil, teacherInfo.id), await samplesReceived(teacher, pupilInfo.id)];
      assert.ok(samplesAfter[0] > samplesBefore[0], `${pupil.label} decodes the teacher's sound: samples ${samplesBefore[0]} → ${samplesAfter[0]}`);
      assert.ok(samplesAfter[1] > samplesBefore[1], `${teacher.label} decodes the pupil's sound: samples ${samplesBefore[1]} → ${samplesAfter[1]}`);

      // Layer switches, both viewers at once: each window narrows and widens in turn. A busy
      // Chromium would otherwise drop its full layer to save CPU (Firefox has no such setting).
      for (const page of [teacher, pupil]) if (page.browser === 'chromium') await keepResolution(page);
      const teacherLayers = await waitBothLayers(teacher);
      const pupilLayers = await waitBothLayers(pupil);
      console.log(`${teacher.label} sends ${JSON.stringify(teacherLayers)}; ${pupil.label} sends ${JSON.stringify(pupilLayers)}`);
      const widthsOf = (layers) => ({ low: layers.low.width, high: layers.high.width });
      const [pupilRounds, teacherRounds] = await Promise.all([
        switchRounds(pupil, teacherInfo.id, widthsOf(teacherLayers)),
        switchRounds(teacher, pupilInfo.id, widthsOf(pupilLayers)),
      ]);
      const minimum = (layers) => Math.max(1, Math.floor(MIN_SHARE_OF_FRAME_RATE * (layers.high.fps ?? 0)));
      assertNoFreeze(pupilRounds, minimum(teacherLayers), `${pupil.label} viewing ${teacher.label}`);
      assertNoFreeze(teacherRounds, minimum(pupilLayers), `${teacher.label} viewing ${pupil.label}`);

      for (const page of [teacher, pupil]) assert.deepEqual(problemsLogged(page), [], `${page.label} logs no warning or error`);
    });
  });
}

test('a windowed Firefox teacher shares the screen; the Chromium pupil decodes it', { timeout: 120_000 }, async () => {
  await withDiagnostics('firefox screen share', async () => {
    const room = await createRoom();
    const teacher = await openPage('sharing-teacher-firefox', `${room.teacher_url}&prejoin=0`, { browser: 'firefox' });
    const pupil = await openPage('pupil-chromium', `${room.pupil_url}&prejoin=0`);
    const teacherInfo = await waitJoined(teacher);
    await waitJoined(pupil);

    await waitUntil(teacher, 'the share button', () => !document.getElementById('share-screen').hidden);
    await teacher.page.click('#share-screen');
    await waitUntil(teacher, 'sharing', () => document.getElementById('share-screen').getAttribute('aria-pressed') === 'true');
    await waitUntil(pupil, 'the shared screen on the pupil\'s stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, `${teacherInfo.id}/screen`, 20_000);
    const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
    let before = await screenFrames(pupil.page, teacherInfo.id);
    while (!(before > 0) && Date.now() < deadline) {
      await sleep(250);
      before = await screenFrames(pupil.page, teacherInfo.id);
    }
    await sleep(2000);
    const after = await screenFrames(pupil.page, teacherInfo.id);
    assert.ok(before !== null && after > before, `the pupil decodes the Firefox screen: ${before} → ${after} frames`);

    await teacher.page.click('#share-screen');
    await waitUntil(pupil, 'the screen tile gone once the share stops', (id) =>
      document.querySelector(`.tile[data-participant="${id}"]`) === null, `${teacherInfo.id}/screen`, UI_TIMEOUT_MS);
    for (const page of [teacher, pupil]) assert.deepEqual(problemsLogged(page), [], `${page.label} logs no warning or error`);
  });
});
