// End-to-end: an observer (an inspector, a visiting teacher) joins from the class's observer link
// in real Chromium. It sees and hears the teacher (frames decoded, audio received, from
// getStats()), publishes nothing (no outbound RTP, its camera and mic let go), cannot turn a mic
// or camera on, and appears to the teacher as an observer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertMediaGrew,
  closePage,
  createRoom,
  openPage,
  sampleInbound,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  waitUntil,
  withDiagnostics,
} from './helpers.mjs';

useHarness();

test('an observer sees and hears the class and sends nothing', { timeout: 120_000 }, async () => {
  await withDiagnostics('observer', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const observer = await openPage('observer', `${room.observer_url}&prejoin=0`, { name: 'Inspector' });
    const teacherInfo = await waitJoined(teacher);
    const you = await waitJoined(observer);
    assert.equal(you.role, 'observer');

    const fromTeacher = [
      { participant: teacherInfo.id, kind: 'audio' },
      { participant: teacherInfo.id, kind: 'video' },
    ];
    await waitTracks(observer, fromTeacher);
    await waitFirstMedia(observer, fromTeacher);
    const [sample] = await sampleInbound([observer]);
    assertMediaGrew(sample, teacherInfo.id, 'video', "the observer decodes the teacher's video");
    assertMediaGrew(sample, teacherInfo.id, 'audio', 'the observer hears the teacher');

    const sent = await observer.page.evaluate(async () => {
      const report = await window.classroom.pc.getStats();
      let packets = 0;
      report.forEach((s) => {
        if (s.type === 'outbound-rtp') packets += s.packetsSent ?? 0;
      });
      const senders = window.classroom.pc.getSenders().filter((s) => s.track !== null).length;
      return { packets, senders };
    });
    assert.deepEqual(sent, { packets: 0, senders: 0 }, 'an observer sends no media and holds no track');
    assert.ok(await observer.page.isDisabled('#toggle-mic'), 'no microphone to turn on');
    assert.ok(await observer.page.isDisabled('#toggle-camera'), 'no camera to turn on');
    const notice = await observer.page.textContent('#class-notice-text');
    assert.match(notice, /observing/, 'the observer is told what it is doing');

    // The teacher sees the observer in the class, as an observer.
    await waitUntil(
      teacher,
      'the observer appears as an observer',
      (id) => document.querySelector(`#grid .tile[data-participant="${id}"]`)?.dataset.role === 'observer',
      you.id,
    );
    await closePage(observer);
    await closePage(teacher);
  });
});
