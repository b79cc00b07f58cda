// End-to-end: the real `classroom` binary and real Chromium (fake camera and microphone).
// A teacher and two pupils join one class; the test reads each page's WebRTC stats and checks that
// media really flows teacher → pupils (video frames decoded, audio packets received) and
// pupils → teacher (audio), naming each inbound stream by its mid through window.classroom.tracks.
//
// Env: CLASSROOM_BIN (default <repo>/target/release/classroom), CHROMIUM_BIN (default /usr/bin/chromium).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SERVER_BIN = process.env.CLASSROOM_BIN ?? path.join(REPO, 'target', 'release', 'classroom');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(HERE, 'artifacts');

const SERVER_START_TIMEOUT_MS = 20_000;
const JOIN_TIMEOUT_MS = 30_000;
const FIRST_MEDIA_TIMEOUT_MS = 20_000;
const SAMPLE_GAP_MS = 3_000;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

let server = null;
let baseUrl = null;
const serverLog = [];
let browser = null;
/** Every page opened, for logs and screenshots on failure. */
const opened = [];

// ---- Server --------------------------------------------------------------------------------

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER_BIN, ['--http', '127.0.0.1:0', '--udp-port-base', '0'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    const timer = setTimeout(() => {
      reject(new Error(`the server printed no "listening on http://…" within ${SERVER_START_TIMEOUT_MS} ms`));
    }, SERVER_START_TIMEOUT_MS);
    const onLine = (stream) => (line) => {
      // eslint-disable-next-line no-control-regex
      const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
      serverLog.push(`[server ${stream}] ${plain}`);
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(plain);
      if (match && baseUrl === null) {
        baseUrl = match[1];
        clearTimeout(timer);
        resolve(baseUrl);
      }
    };
    splitLines(child.stdout, onLine('stdout'));
    splitLines(child.stderr, onLine('stderr'));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${SERVER_BIN}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      serverLog.push(`[server] exited (code ${code}, signal ${signal})`);
      server = null;
      clearTimeout(timer);
      reject(new Error(`the server exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

function splitLines(stream, onLine) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}

async function stopServer() {
  const child = server;
  if (!child) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// Last resort if the runner dies between before() and after().
process.on('exit', () => server?.kill('SIGKILL'));

async function createRoom() {
  const response = await fetch(`${baseUrl}/api/rooms`, { method: 'POST' });
  const body = await response.text();
  assert.equal(response.status, 201, `POST /api/rooms answered ${response.status}: ${body}`);
  const room = JSON.parse(body);
  // Join through the address the test reached the server at, whatever host the server names.
  const local = (url) => {
    const u = new URL(url);
    return new URL(u.pathname + u.search, baseUrl).href;
  };
  return { ...room, teacher_url: local(room.teacher_url), pupil_url: local(room.pupil_url) };
}

// ---- Browser -------------------------------------------------------------------------------

async function openPage(label, url) {
  const context = await browser.newContext({
    permissions: ['camera', 'microphone'],
    viewport: { width: 1024, height: 720 },
  });
  const page = await context.newPage();
  const logs = [];
  page.on('console', (msg) => logs.push(`[${label}] ${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (error) => logs.push(`[${label}] page error: ${error.message}`));
  page.on('requestfailed', (req) => logs.push(`[${label}] request failed: ${req.url()} ${req.failure()?.errorText}`));
  const participant = { label, context, page, logs };
  opened.push(participant);
  await page.goto(url, { timeout: JOIN_TIMEOUT_MS });
  return participant;
}

/** Runs `body`; on failure prints every page's console, the server's output, and screenshots. */
async function withDiagnostics(name, body) {
  try {
    await body();
  } catch (error) {
    console.error(`\n---- ${name} failed: diagnostics ----`);
    for (const { label, page, logs } of opened) {
      console.error(`-- console of ${label} (${logs.length} lines)`);
      for (const line of logs.slice(-80)) console.error(line);
      await page.screenshot({ path: path.join(ARTIFACTS, `failed-${label}.png`) }).catch(() => {});
    }
    console.error(`-- server output (last 80 lines)`);
    for (const line of serverLog.slice(-80)) console.error(line);
    throw error;
  }
}

/** Waits until the page has joined; fails at once if it ended in `error` or `left`. */
async function waitJoined({ page, label }) {
  await page.waitForFunction(
    () => {
      const c = window.classroom;
      if (c && (c.state === 'error' || c.state === 'left')) {
        throw new Error(`state ${c.state}: ${document.getElementById('status-text').textContent}`);
      }
      return c !== undefined && c.state === 'joined' && c.pc !== null && c.you !== null;
    },
    null,
    { timeout: JOIN_TIMEOUT_MS, polling: 100 },
  ).catch((error) => {
    throw new Error(`${label} did not join: ${error.message}`);
  });
  return page.evaluate(() => window.classroom.you);
}

/** Waits until `page` receives a live track of each `{participant, kind}` in `expected`. */
async function waitTracks({ page, label }, expected) {
  await page.waitForFunction(
    (wanted) => {
      const c = window.classroom;
      if (c.state !== 'joined') throw new Error(`state ${c.state}`);
      const live = new Set();
      for (const entry of c.tracks.values()) {
        if (entry.track && entry.track.readyState === 'live') live.add(`${entry.participant}/${entry.kind}`);
      }
      return wanted.every(({ participant, kind }) => live.has(`${participant}/${kind}`));
    },
    expected,
    { timeout: JOIN_TIMEOUT_MS, polling: 200 },
  ).catch(async (error) => {
    const tracks = await page.evaluate(() =>
      JSON.stringify([...window.classroom.tracks].map(([mid, t]) => ({ mid, ...t, track: t.track?.readyState }))),
    );
    throw new Error(`${label} did not receive ${JSON.stringify(expected)} (has ${tracks}): ${error.message}`);
  });
}

/**
 * The page's inbound-rtp streams, each named by its mid: `window.classroom.tracks` maps the mid
 * (announced by `track_added`) to the publishing participant and kind. Falls back to the
 * transceiver whose receiver track is the stats' trackIdentifier where `mid` is not reported.
 */
function inboundStats(page) {
  return page.evaluate(async () => {
    const c = window.classroom;
    const midByTrack = new Map();
    for (const t of c.pc.getTransceivers()) if (t.mid !== null) midByTrack.set(t.receiver.track.id, t.mid);
    const report = await c.pc.getStats();
    const streams = [];
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const mid = s.mid ?? midByTrack.get(s.trackIdentifier) ?? null;
      const entry = mid === null ? undefined : c.tracks.get(mid);
      streams.push({
        mid,
        kind: s.kind,
        participant: entry ? entry.participant : null,
        announcedKind: entry ? entry.kind : null,
        framesDecoded: s.framesDecoded ?? null,
        packetsReceived: s.packetsReceived ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
      });
    });
    return streams;
  });
}

function stream(stats, participant, kind) {
  return stats.find((s) => s.participant === participant && s.kind === kind);
}

/** Waits until `page` has decoded a frame / received a packet from each `{participant, kind}`. */
async function waitFirstMedia(participant, expected) {
  const deadline = Date.now() + FIRST_MEDIA_TIMEOUT_MS;
  let stats = [];
  while (Date.now() < deadline) {
    stats = await inboundStats(participant.page);
    const ready = expected.every(({ participant: id, kind }) => {
      const s = stream(stats, id, kind);
      return s && (kind === 'video' ? s.framesDecoded > 0 : s.packetsReceived > 0);
    });
    if (ready) return;
    await sleep(250);
  }
  throw new Error(`${participant.label} got no media from ${JSON.stringify(expected)}: ${JSON.stringify(stats)}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- Tests ---------------------------------------------------------------------------------

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM_BIN, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  for (const { context } of opened) await context.close().catch(() => {});
  await browser?.close().catch(() => {});
  await stopServer();
});

test('the start page creates a class and shows its teacher and pupil links', { timeout: 60_000 }, async () => {
  await withDiagnostics('landing', async () => {
    const visitor = await openPage('landing', `${baseUrl}/`);
    await visitor.page.click('#create-class');
    await visitor.page.waitForFunction(
      () => document.getElementById('teacher-url').getAttribute('href') !== '' &&
        document.getElementById('pupil-url').getAttribute('href') !== '',
      null,
      { timeout: 10_000 },
    );
    const links = await visitor.page.evaluate(() => ({
      teacher: document.getElementById('teacher-url').href,
      pupil: document.getElementById('pupil-url').href,
      visible: !document.getElementById('links').hidden,
    }));
    assert.ok(links.visible, 'the links section is shown');
    for (const url of [links.teacher, links.pupil]) {
      const u = new URL(url);
      assert.match(u.pathname, /^\/class\/[^/]+$/, `${url} is a class link`);
      assert.ok(u.searchParams.get('token'), `${url} carries a token`);
    }
    assert.notEqual(new URL(links.teacher).searchParams.get('token'), new URL(links.pupil).searchParams.get('token'));
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
    await page.screenshot({ path: path.join(ARTIFACTS, 'prejoin.png') });
    await page.click('#join');
    const you = await waitJoined(pupil);
    assert.equal(you.name, 'Ada Lovelace');
    assert.equal(you.role, 'pupil');
    assert.equal(await page.evaluate(() => localStorage.getItem('classroom.name')), 'Ada Lovelace');
    await page.click('#toggle-mic');
    assert.equal(await page.getAttribute('#toggle-mic', 'aria-pressed'), 'false');
    await page.click('#leave');
    await page.waitForFunction(() => window.classroom.state === 'left', null, { timeout: 10_000 });
    await pupil.context.close();
    opened.splice(opened.indexOf(pupil), 1);
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
    const first = await Promise.all(pages.map((p) => inboundStats(p.page)));
    await sleep(SAMPLE_GAP_MS);
    const second = await Promise.all(pages.map((p) => inboundStats(p.page)));

    for (const [i, p] of pages.entries()) {
      console.log(`${p.label} inbound streams (first → second sample):`);
      for (const s of second[i]) {
        const before = first[i].find((f) => f.mid === s.mid);
        console.log(
          `  mid ${s.mid} ${s.kind} from ${s.participant}: packets ${before?.packetsReceived} → ${s.packetsReceived}` +
            (s.kind === 'video' ? `, frames decoded ${before?.framesDecoded} → ${s.framesDecoded}` : ''),
        );
        if (s.participant !== null) assert.equal(s.announcedKind, s.kind, `mid ${s.mid} carries the announced kind`);
      }
    }

    for (const [i, pupil] of pupils.entries()) {
      const [a, b] = [first[i + 1], second[i + 1]];
      const videoBefore = stream(a, teacherInfo.id, 'video');
      const videoAfter = stream(b, teacherInfo.id, 'video');
      assert.ok(videoBefore && videoAfter, `${pupil.label} has an inbound video stream from the teacher`);
      assert.ok(
        videoAfter.framesDecoded > videoBefore.framesDecoded,
        `${pupil.label} decodes teacher video: ${videoBefore.framesDecoded} → ${videoAfter.framesDecoded} frames`,
      );
      const audioBefore = stream(a, teacherInfo.id, 'audio');
      const audioAfter = stream(b, teacherInfo.id, 'audio');
      assert.ok(audioBefore && audioAfter, `${pupil.label} has an inbound audio stream from the teacher`);
      assert.ok(
        audioAfter.packetsReceived > audioBefore.packetsReceived,
        `${pupil.label} receives teacher audio: ${audioBefore.packetsReceived} → ${audioAfter.packetsReceived} packets`,
      );
    }
    for (const id of pupilIds) {
      const audioBefore = stream(first[0], id, 'audio');
      const audioAfter = stream(second[0], id, 'audio');
      assert.ok(audioBefore && audioAfter, `the teacher has an inbound audio stream from pupil ${id}`);
      assert.ok(
        audioAfter.packetsReceived > audioBefore.packetsReceived,
        `the teacher receives audio of pupil ${id}: ${audioBefore.packetsReceived} → ${audioAfter.packetsReceived}`,
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

    await teacher.page.screenshot({ path: path.join(ARTIFACTS, 'teacher.png') });
    await pupils[0].page.screenshot({ path: path.join(ARTIFACTS, 'pupil1.png') });
  });
});
