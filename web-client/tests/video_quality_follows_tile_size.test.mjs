// Cameras go out as two simulcast layers, and each viewer gets the one its tile needs: a pupil
// sees the teacher on the stage at full size (640 wide); when it pins a classmate, the teacher
// becomes a thumbnail and arrives as the half-size layer (320 wide), still decoding; unpinned,
// full size again. Measured with getStats() at the viewer, not inferred from the page.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  FIRST_MEDIA_TIMEOUT_MS,
  SAMPLE_GAP_MS,
  assertMediaGrew,
  createRoom,
  inboundStats,
  keepResolution,
  openPage,
  sampleInbound,
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

/**
 * Reads `read()` every 250 ms until `done(value)`, and returns the distinct values seen in order;
 * after FIRST_MEDIA_TIMEOUT_MS, throws `failure(seen)`.
 */
async function pollUntil(read, done, failure) {
  const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
  const seen = [];
  while (Date.now() < deadline) {
    const value = await read();
    if (JSON.stringify(seen.at(-1)) !== JSON.stringify(value)) seen.push(value);
    if (done(value)) return seen;
    await sleep(250);
  }
  throw new Error(failure(seen));
}

/** Waits until `viewer` decodes `from`'s camera at `width` pixels wide; returns the widths seen. */
function waitWidth(viewer, from, width, what) {
  return pollUntil(
    async () => stream(await inboundStats(viewer.page), from, 'video')?.frameWidth ?? null,
    (seen) => seen === width,
    (seen) => `${what}: ${from}'s video never arrived ${width} wide at ${viewer.label} (widths seen: ${seen})`,
  );
}

/** The simulcast layers `participant` sends: `{rid: width}`. */
function layersSent(participant) {
  return participant.page.evaluate(async () => {
    const layers = {};
    (await window.classroom.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.rid) layers[s.rid] = s.frameWidth ?? null;
    });
    return layers;
  });
}

test('each viewer receives a camera at the quality its tile needs', { timeout: 180_000 }, async () => {
  await withDiagnostics('video quality', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const classmate = await openPage('classmate', `${room.pupil_url}&prejoin=0`);
    const viewer = await openPage('viewer', `${room.pupil_url}&prejoin=0`);
    const teacherInfo = await waitJoined(teacher);
    const classmateInfo = await waitJoined(classmate);
    await waitJoined(viewer);
    const cameras = [teacherInfo.id, classmateInfo.id].map((participant) => ({ participant, kind: 'video' }));
    await waitTracks(viewer, cameras);
    await waitFirstMedia(viewer, cameras);
    await keepResolution(teacher);
    await keepResolution(classmate);

    const layers = await pollUntil(
      () => layersSent(teacher),
      (sent) => sent.q === 320 && sent.f === 640,
      (seen) => `the teacher never sent both layers, 320 and 640 wide: ${JSON.stringify(seen)}`,
    );
    console.log('teacher sends, over time:', JSON.stringify(layers));

    // The teacher on the viewer's stage: the full layer.
    console.log('stage, widths seen:', await waitWidth(viewer, teacherInfo.id, 640, 'on the stage'));

    // The viewer pins the classmate: the teacher becomes a thumbnail.
    await viewer.page.click(`.tile[data-participant="${classmateInfo.id}"] .pin`);
    await waitUntil(viewer, 'the classmate on the stage', (id) =>
      document.querySelector(`#stage .tile[data-participant="${id}"]`) !== null, classmateInfo.id);
    console.log('thumbnail, widths seen:', await waitWidth(viewer, teacherInfo.id, 320, 'as a thumbnail'));
    console.log('classmate on the stage, widths seen:', await waitWidth(viewer, classmateInfo.id, 640, 'pinned'));
    const [sample] = await sampleInbound([viewer]);
    assertMediaGrew(sample, teacherInfo.id, 'video', 'the teacher as a thumbnail still plays');
    const thumbnail = stream(sample.later, teacherInfo.id, 'video');
    assert.equal(thumbnail.frameWidth, 320, 'and stays on the small layer');

    // Unpinned: the teacher is back on the stage, at full size.
    await viewer.page.click(`.tile[data-participant="${classmateInfo.id}"] .pin`);
    console.log('back on the stage, widths seen:', await waitWidth(viewer, teacherInfo.id, 640, 'back on the stage'));
    const [staged] = await sampleInbound([viewer]);
    // What the thumbnail saves, for the record (not asserted: encoders and shared machines vary).
    const kbps = ({ earlier, later }) =>
      Math.round(((stream(later, teacherInfo.id, 'video').bytesReceived - stream(earlier, teacherInfo.id, 'video').bytesReceived) * 8) /
        SAMPLE_GAP_MS);
    console.log(`teacher's camera at the viewer: ${kbps(sample)} kbit/s as a thumbnail, ${kbps(staged)} kbit/s on the stage`);
  });
});
