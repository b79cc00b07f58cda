// End-to-end over HTTPS: the real `classroom` binary serving its own certificate (made here with
// openssl, the files an operator would have), and real Chromium reaching it by a host name, not
// 127.0.0.1 — on a bare IP or `localhost` the browser counts plain HTTP as a secure context, on a
// school's name only HTTPS is. The camera and microphone open, media flows both ways over WSS
// signalling, and plain HTTP lands on the HTTPS page.
//
// Chromium trusts exactly this certificate (`--ignore-certificate-errors-spki-list` with its key's
// hash) and resolves the name to loopback (`--host-resolver-rules`): no other network.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ARTIFACTS,
  UI_TIMEOUT_MS,
  assertMediaGrew,
  harness,
  openPage,
  sampleInbound,
  sleep,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  withDiagnostics,
} from './helpers.mjs';

const HOST = 'school.test';
const dir = mkdtempSync(path.join(os.tmpdir(), 'classroom-https-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
  '-keyout', keyFile, '-out', certFile, '-days', '2',
  '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`,
], { stdio: 'ignore' });
const spkiHash = createHash('sha256')
  .update(new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' }))
  .digest('base64');

useHarness({
  chromiumArgs: [
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${spkiHash}`,
  ],
  serverArgs: ['--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-redirect-http', '127.0.0.1:0'],
});

/** `url` (on 127.0.0.1) as the school's name would give it. */
function named(url) {
  const u = new URL(url);
  u.hostname = HOST;
  return u.href;
}

// First: the browser has not seen the HTTPS side yet (no HSTS), so the redirect itself is used.
test('plain HTTP is redirected to the same page over HTTPS', { timeout: 60_000 }, async () => {
  await withDiagnostics('https redirect', async () => {
    for (let i = 0; harness.redirectUrl === null && i < 50; i += 1) await sleep(100);
    assert.ok(harness.redirectUrl, 'the server printed its redirect address');
    const visitor = await openPage('redirected', `${named(harness.redirectUrl)}class/abc?token=t1&prejoin=1`);
    const expected = `${named(harness.baseUrl)}class/abc?token=t1&prejoin=1`;
    assert.equal(visitor.page.url(), expected);
    assert.equal(await visitor.page.evaluate(() => window.isSecureContext), true);
    await visitor.context.close();
  });
});

test('a class over HTTPS: secure context, camera and microphone, media both ways', { timeout: 180_000 }, async () => {
  await withDiagnostics('https class', async () => {
    const origin = named(harness.baseUrl).replace(/\/$/, '');
    const landing = await openPage('landing', `${origin}/`);
    const response = await landing.page.goto(`${origin}/`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['strict-transport-security'] ?? '', /^max-age=\d+/, 'HSTS');
    assert.equal(await landing.page.evaluate(() => window.isSecureContext), true);

    // The class is created from the page, as the start page does: links name the HTTPS origin.
    const room = await landing.page.evaluate(async () => {
      const r = await fetch('/api/rooms', { method: 'POST' });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(room.status, 201, JSON.stringify(room.body));
    for (const key of ['teacher_url', 'pupil_url']) {
      assert.ok(room.body[key].startsWith(`${origin}/class/`), `${key} ${room.body[key]} is an https link`);
    }

    const teacher = await openPage('https-teacher', `${room.body.teacher_url}&prejoin=0`);
    const pupil = await openPage('https-pupil', `${room.body.pupil_url}&prejoin=0`);
    const teacherInfo = await waitJoined(teacher);
    const pupilInfo = await waitJoined(pupil);
    for (const p of [teacher, pupil]) {
      const secure = await p.page.evaluate(() => ({
        secure: window.isSecureContext,
        devices: typeof navigator.mediaDevices?.getUserMedia === 'function',
      }));
      assert.deepEqual(secure, { secure: true, devices: true }, `${p.label} may open the camera`);
      assert.ok(p.sockets.length > 0 && p.sockets.every((url) => url.startsWith(`wss://${HOST}:`)), `${p.label} signals over WSS: ${p.sockets}`);
    }
    // The pupil unmutes so the teacher has audio to receive.
    await pupil.page.click('#toggle-mic');
    await pupil.page.waitForFunction(
      () => document.getElementById('toggle-mic').getAttribute('aria-pressed') === 'true',
      null,
      { timeout: UI_TIMEOUT_MS },
    );

    const fromTeacher = [
      { participant: teacherInfo.id, kind: 'audio' },
      { participant: teacherInfo.id, kind: 'video' },
    ];
    const fromPupil = [{ participant: pupilInfo.id, kind: 'audio' }];
    await waitTracks(pupil, fromTeacher);
    await waitTracks(teacher, fromPupil);
    await waitFirstMedia(pupil, fromTeacher);
    await waitFirstMedia(teacher, fromPupil);
    const [atTeacher, atPupil] = await sampleInbound([teacher, pupil]);
    assertMediaGrew(atPupil, teacherInfo.id, 'video', 'the pupil decodes the teacher');
    assertMediaGrew(atPupil, teacherInfo.id, 'audio', 'the pupil hears the teacher');
    assertMediaGrew(atTeacher, pupilInfo.id, 'audio', 'the teacher hears the pupil');
    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'https-teacher.png') });
  });
});
