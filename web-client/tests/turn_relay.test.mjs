// End-to-end through a real relay: Debian's coturn, started here on loopback with the TURN REST
// scheme (`use-auth-secret`), and the classroom server given the same secret (`--turn-urls`,
// `--turn-secret-file`). A pupil whose page is forced to use relays only (`?ice=relay`) decodes
// the teacher's video and hears the teacher through coturn, with the credentials its `welcome`
// carried, and before they expire (the shortest lifetime, 60 s) the page fetches fresh ones and
// applies them while media keeps flowing; a probe page shows coturn refuses a wrong and an expired
// credential.
//
// Env: CLASSROOM_BIN, CHROMIUM_BIN (see helpers.mjs), TURNSERVER_BIN (default /usr/bin/turnserver).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
  waitUntil,
  withDiagnostics,
} from './helpers.mjs';
import { mintCredential, prepareCoturn } from './coturn.mjs';

const coturn = await prepareCoturn();
/** The shortest lifetime the server accepts: the page asks for fresh credentials at 3/4 of it. */
const LIFETIME_SECS = 60;
useHarness({
  serverArgs: [
    '--turn-urls', coturn.url,
    '--turn-secret-file', coturn.secretFile,
    '--turn-credential-lifetime-secs', String(LIFETIME_SECS),
  ],
});
before(() => coturn.start());
after(() => coturn.stop());
process.on('exit', () => coturn.kill());

/** Prints coturn's output too when a test fails. */
async function withCoturnDiagnostics(name, body) {
  try {
    await withDiagnostics(name, body);
  } catch (error) {
    console.error('-- coturn output (last 60 lines)');
    for (const line of coturn.log.slice(-60)) console.error(line);
    throw error;
  }
}

test('a pupil forced to relay decodes and hears the teacher through coturn, and renews its credentials', { timeout: 150_000 }, async () => {
  await withCoturnDiagnostics('relay class', async () => {
    const room = await createRoom();
    const teacher = await openPage('teacher', `${room.teacher_url}&prejoin=0`);
    const pupil = await openPage('relayed-pupil', `${room.pupil_url}&prejoin=0&ice=relay`);
    const teacherInfo = await waitJoined(teacher);
    const pupilInfo = await waitJoined(pupil);

    const config = await pupil.page.evaluate(() => {
      const c = window.classroom.pc.getConfiguration();
      return { policy: c.iceTransportPolicy, servers: c.iceServers };
    });
    assert.equal(config.policy, 'relay', '?ice=relay sets the relay-only policy');
    assert.equal(config.servers.length, 1, `the welcome's relay is used: ${JSON.stringify(config.servers)}`);
    assert.deepEqual(config.servers[0].urls, [coturn.url]);
    assert.match(config.servers[0].username, new RegExp(`^\\d+:${pupilInfo.id}$`), 'expiry:participant id');

    const fromTeacher = [
      { participant: teacherInfo.id, kind: 'audio' },
      { participant: teacherInfo.id, kind: 'video' },
    ];
    await waitTracks(pupil, fromTeacher);
    await waitFirstMedia(pupil, fromTeacher);
    const [sample] = await sampleInbound([pupil]);
    assertMediaGrew(sample, teacherInfo.id, 'video', 'the relayed pupil decodes the teacher');
    assertMediaGrew(sample, teacherInfo.id, 'audio', 'the relayed pupil hears the teacher');

    const pair = await selectedCandidatePair(pupil.page);
    console.log(`relayed pupil's selected pair: ${JSON.stringify(pair)}`);
    assert.equal(pair?.local?.type, 'relay', `media goes through the relay: ${JSON.stringify(pair)}`);
    // The teacher was not forced: its pair is direct, so the relay carried only the pupil.
    const teacherPair = await selectedCandidatePair(teacher.page);
    assert.notEqual(teacherPair?.local?.type, 'relay', JSON.stringify(teacherPair));

    // Before the welcome's credentials expire the page asks for new ones (`ice_servers`) and gives
    // them to its RTCPeerConnection; the relayed media goes on.
    const first = config.servers[0].username;
    await waitUntil(pupil, 'fresh relay credentials applied before expiry', (old) =>
      window.classroom.pc.getConfiguration().iceServers[0]?.username !== old, first, LIFETIME_SECS * 1000);
    const renewed = await pupil.page.evaluate(() => window.classroom.pc.getConfiguration().iceServers[0].username);
    const expiry = (username) => Number(username.split(':')[0]);
    assert.ok(expiry(renewed) > expiry(first), `later expiry: ${first} → ${renewed}`);
    assert.match(renewed, new RegExp(`:${pupilInfo.id}$`));
    const [afterRenewal] = await sampleInbound([pupil]);
    assertMediaGrew(afterRenewal, teacherInfo.id, 'video', 'the relayed pupil still decodes the teacher');
  });
});

test('coturn refuses a wrong and an expired credential and accepts a fresh one', { timeout: 60_000 }, async () => {
  await withCoturnDiagnostics('relay credentials', async () => {
    const probe = await openPage('relay-probe', `${harness.baseUrl}/`);
    // Gathers candidates with relays only; resolves with the relay candidates found and the
    // errors reported, once gathering is complete (bounded).
    const gather = (server) =>
      probe.page.evaluate(async (iceServer) => {
        const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: 'relay' });
        const relays = [];
        const errors = [];
        pc.addEventListener('icecandidate', ({ candidate }) => {
          if (candidate && candidate.type === 'relay') relays.push(candidate.candidate);
        });
        pc.addEventListener('icecandidateerror', (e) => errors.push(e.errorCode));
        pc.createDataChannel('probe');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((resolve) => {
          if (pc.iceGatheringState === 'complete') resolve();
          pc.addEventListener('icegatheringstatechange', () => {
            if (pc.iceGatheringState === 'complete') resolve();
          });
          setTimeout(resolve, 15_000);
        });
        const complete = pc.iceGatheringState === 'complete';
        pc.close();
        return { relays, errors, complete };
      }, server);

    const fresh = mintCredential(coturn.secret, 'probe', 600);
    const good = await gather({ urls: [coturn.url], ...fresh });
    assert.ok(good.relays.length > 0, `a fresh credential gets a relay candidate: ${JSON.stringify(good)}`);

    const wrong = await gather({ urls: [coturn.url], username: fresh.username, credential: 'bm90IHRoZSByaWdodCBvbmU=' });
    const expired = await gather({ urls: [coturn.url], ...mintCredential(coturn.secret, 'probe', -60) });
    for (const [what, result] of [['a wrong credential', wrong], ['an expired credential', expired]]) {
      console.log(`${what}: ${JSON.stringify(result)}`);
      assert.equal(result.relays.length, 0, `${what} gets no relay candidate: ${JSON.stringify(result)}`);
      assert.ok(result.errors.includes(401), `${what} is refused as unauthorized: ${JSON.stringify(result)}`);
    }
  });
});
