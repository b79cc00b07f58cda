// End-to-end behind a firewall that drops UDP: a pupil's Chromium runs in a network namespace the
// test creates (veth pair, nft dropping every UDP packet in and out), so the only way its media
// can reach the server is ICE-TCP (the server's `tcptype passive` candidate). The teacher's
// Chromium is outside, on UDP as usual. The pupil decodes the teacher's video and hears the teacher,
// over a TCP candidate pair; nft's counter shows UDP was tried and dropped.
//
// Needs root (ip netns, nft). Env: CLASSROOM_BIN, CHROMIUM_BIN (see helpers.mjs).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import {
  assertMediaGrew,
  createRoom,
  harness,
  openPage,
  sampleInbound,
  selectedCandidatePair,
  useHarness,
  waitFirstMedia,
  waitJoined,
  waitTracks,
  withDiagnostics,
} from './helpers.mjs';
import { createNamespace } from './netns.mjs';

const net = createNamespace(`crtcp${process.pid % 100_000}`);
// Every UDP packet into or out of the namespace is dropped, and counted.
net.exec(['nft', '-f', '-'], `table inet classroom_test {
  chain input { type filter hook input priority 0; meta l4proto udp counter drop; }
  chain output { type filter hook output priority 0; meta l4proto udp counter drop; }
}
`);

const httpPort = await freeTcpPort(net.hostAddress);
const origin = `http://${net.hostAddress}:${httpPort}`;
// Camera and microphone need a secure context: this test origin counts as one for both browsers.
const secureOrigin = `--unsafely-treat-insecure-origin-as-secure=${origin}`;
// A server off loopback creates classes only with the admin key.
const adminKey = `tcp-only-test-${process.pid}-admin-key`;
useHarness({
  http: `${net.hostAddress}:${httpPort}`,
  serverArgs: ['--media-bind-ip', net.hostAddress, '--public-ip', net.hostAddress, '--admin-key', adminKey],
  chromiumArgs: [secureOrigin],
});
let insideBrowser = null;
after(async () => {
  await insideBrowser?.close().catch(() => {});
  net.remove();
});

/** A TCP port free on `address` now (bound, then let go). */
function freeTcpPort(address) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, address, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** UDP packets nft dropped in the namespace so far (both directions). */
function udpDropped() {
  const rules = net.exec(['nft', 'list', 'table', 'inet', 'classroom_test']);
  return [...rules.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

test('a pupil whose network drops all UDP decodes and hears the teacher over ICE-TCP', { timeout: 150_000 }, async () => {
  await withDiagnostics('tcp only', async () => {
    // The namespace really has no UDP: a datagram to the server's side is dropped (and counted).
    const before = udpDropped();
    net.exec(['bash', '-c', `printf x > /dev/udp/${net.hostAddress}/9 || true`]);
    assert.ok(udpDropped() > before, 'nft drops UDP leaving the namespace');

    const room = await createRoom({ adminKey });
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const teacherInfo = await waitJoined(teacher);

    // The pupil's browser runs inside the namespace; the page opens in it.
    insideBrowser = await chromium.launch({
      executablePath: net.chromiumWrapper,
      headless: true,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', secureOrigin,
      ],
    });
    const pupil = await openPage('pupil-tcp-only', `${room.pupil_url}&prejoin=0`, { browser: insideBrowser });
    await waitJoined(pupil);

    const fromTeacher = [
      { participant: teacherInfo.id, kind: 'audio' },
      { participant: teacherInfo.id, kind: 'video' },
    ];
    await waitTracks(pupil, fromTeacher);
    await waitFirstMedia(pupil, fromTeacher);
    const [sample] = await sampleInbound([pupil]);
    assertMediaGrew(sample, teacherInfo.id, 'video', 'the TCP-only pupil decodes the teacher');
    assertMediaGrew(sample, teacherInfo.id, 'audio', 'the TCP-only pupil hears the teacher');

    const pair = await selectedCandidatePair(pupil.page);
    console.log(`TCP-only pupil's selected pair: ${JSON.stringify(pair)}; UDP packets dropped: ${udpDropped()}`);
    assert.equal(pair?.local?.protocol, 'tcp', `media goes over TCP: ${JSON.stringify(pair)}`);
    assert.equal(pair?.remote?.protocol, 'tcp', `to the server's TCP candidate: ${JSON.stringify(pair)}`);
    assert.equal(pair?.remote?.address, net.hostAddress);
    // The teacher, outside the firewall, stays on UDP.
    const teacherPair = await selectedCandidatePair(teacher.page);
    assert.equal(teacherPair?.local?.protocol, 'udp', JSON.stringify(teacherPair));
  });
});
