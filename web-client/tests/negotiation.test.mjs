// The negotiation rules of docs/PROTOCOL.md, as js/media.js implements them, in real Chromium but
// without the server: a second RTCPeerConnection in the page plays the server's part, and the test
// delivers the messages in the orders the protocol allows (including crossing offers).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// localhost is a secure context, so getUserMedia works; every request is answered from disk.
const ORIGIN = 'http://localhost:9';

let browser = null;
let page = null;
const logs = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.route(`${ORIGIN}/**`, async (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname === '/') {
      await route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>negotiation</title>' });
      return;
    }
    try {
      const body = await readFile(path.join(WEB_ROOT, path.normalize(pathname)));
      await route.fulfill({ contentType: 'text/javascript', body });
    } catch {
      await route.fulfill({ status: 404, body: 'not found' });
    }
  });
  page = await context.newPage();
  page.on('console', (msg) => logs.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (error) => logs.push(`page error: ${error.message}`));
  await page.goto(`${ORIGIN}/`);
  // A fake server: answers and offers with its own peer connection; `toServer` is the wire.
  await page.evaluate(async () => {
    const { MediaSession } = await import('/js/media.js');
    const until = async (check, what) => {
      for (let i = 0; i < 100; i += 1) {
        if (check()) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    window.setup = async () => {
      const toServer = [];
      const server = new RTCPeerConnection();
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const session = new MediaSession({
        signal: {
          sendOffer: (sdp) => toServer.push({ type: 'offer', sdp }),
          sendAnswer: (sdp) => toServer.push({ type: 'answer', sdp }),
        },
        stream,
      });
      const received = [];
      session.addEventListener('track', ({ detail }) => received.push(detail));
      const next = async (type) => {
        await until(() => toServer.length > 0, `a client ${type}`);
        const message = toServer.shift();
        if (message.type !== type) throw new Error(`expected a client ${type}, got ${message.type}`);
        return message;
      };
      /** The server answers the client's next offer. */
      const serverAnswers = async () => {
        await server.setRemoteDescription(await next('offer'));
        await server.setLocalDescription(await server.createAnswer());
        session.handleAnswer({ sdp: server.localDescription.sdp });
      };
      /** The server starts forwarding a track of `participant`: track_added, then its offer. */
      const serverForwards = async (participant, kind) => {
        const [track] = (await navigator.mediaDevices.getUserMedia({ [kind]: true })).getTracks();
        const transceiver = server.addTransceiver(track, { direction: 'sendonly' });
        await server.setLocalDescription(await server.createOffer());
        session.trackAdded({ mid: transceiver.mid, participant, kind });
        session.handleOffer({ sdp: server.localDescription.sdp });
        return transceiver;
      };
      const settled = () => until(() => session.pc.signalingState === 'stable' && toServer.length === 0, 'stable');
      return { session, server, toServer, received, next, serverAnswers, serverForwards, settled, until };
    };
  });
});

after(async () => {
  await browser?.close();
});

async function check(name, body) {
  try {
    return await page.evaluate(body);
  } catch (error) {
    console.error(`---- ${name}: page console ----\n${logs.join('\n')}`);
    throw error;
  }
}

test('the first offer publishes mic and camera sendonly, and server tracks are named by mid', async () => {
  const result = await check('first offer', async () => {
    const t = await window.setup();
    t.session.start();
    const offer = await t.next('offer');
    await t.server.setRemoteDescription(offer);
    await t.server.setLocalDescription(await t.server.createAnswer());
    t.session.handleAnswer({ sdp: t.server.localDescription.sdp });
    const forwarded = await t.serverForwards('p-teacher', 'video');
    await t.server.setRemoteDescription(await t.next('answer'));
    await t.settled();
    await t.until(() => t.received.length === 1, 'the track event');
    const directions = t.session.pc.getTransceivers().map((x) => x.currentDirection);
    return {
      sendonly: (offer.sdp.match(/a=sendonly/g) ?? []).length,
      received: t.received.map(({ mid, participant, kind }) => ({ mid, participant, kind })),
      forwardedMid: forwarded.mid,
      directions,
    };
  });
  assert.equal(result.sendonly, 2);
  assert.deepEqual(result.received, [{ mid: result.forwardedMid, participant: 'p-teacher', kind: 'video' }]);
  assert.deepEqual(result.directions, ['sendonly', 'sendonly', 'recvonly']);
});

test('an offer crossing the server offer is sent again once the server offer is answered', async () => {
  const result = await check('crossing offers', async () => {
    const t = await window.setup();
    t.session.start();
    await t.serverAnswers();
    await t.settled();
    // The client re-offers while the server's offer is on its way; the server, waiting for its
    // answer, refuses the client's offer with renegotiation_busy.
    t.session.renegotiate();
    const crossed = await t.next('offer');
    await t.serverForwards('p-pupil', 'audio');
    t.session.handleBusy();
    await t.server.setRemoteDescription(await t.next('answer'));
    await t.serverAnswers();
    await t.settled();
    await t.until(() => t.received.length === 1, 'the track event');
    return {
      crossed: crossed.type,
      client: t.session.pc.signalingState,
      server: t.server.signalingState,
      received: t.received.map(({ participant, kind }) => ({ participant, kind })),
    };
  });
  assert.equal(result.crossed, 'offer');
  assert.equal(result.client, 'stable');
  assert.equal(result.server, 'stable');
  assert.deepEqual(result.received, [{ participant: 'p-pupil', kind: 'audio' }]);
});

test('a client without devices offers inactive audio and video m-lines', async () => {
  const result = await check('no devices', async () => {
    const { MediaSession } = await import('/js/media.js');
    const toServer = [];
    const session = new MediaSession({
      signal: { sendOffer: (sdp) => toServer.push(sdp), sendAnswer: () => {} },
      stream: new MediaStream(),
    });
    session.start();
    for (let i = 0; i < 100 && toServer.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
    session.close();
    const sdp = toServer[0] ?? '';
    return { audio: /m=audio/.test(sdp), video: /m=video/.test(sdp), inactive: (sdp.match(/a=inactive/g) ?? []).length };
  });
  assert.deepEqual(result, { audio: true, video: true, inactive: 2 });
});

test('track_removed ends the track it announced', async () => {
  const result = await check('track removed', async () => {
    const t = await window.setup();
    const ended = [];
    t.session.addEventListener('track-ended', ({ detail }) => ended.push(detail));
    t.session.start();
    await t.serverAnswers();
    const forwarded = await t.serverForwards('p-gone', 'video');
    await t.server.setRemoteDescription(await t.next('answer'));
    await t.settled();
    await t.until(() => t.received.length === 1, 'the track event');
    t.session.trackRemoved({ mid: forwarded.mid });
    return { ended: ended.map(({ participant, kind }) => ({ participant, kind })), left: t.session.tracks.size };
  });
  assert.deepEqual(result, { ended: [{ participant: 'p-gone', kind: 'video' }], left: 0 });
});
