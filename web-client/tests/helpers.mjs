// Shared harness of the end-to-end tests: starts the real `classroom` binary and the browsers (a
// headless Chromium, and Firefox when a test asks for it; fake camera and microphone), opens class
// pages, waits on them (every wait bounded), reads their WebRTC stats, and on failure prints every
// page's console, the server's output, and screenshots.
//
// A test file calls `useHarness()` once at top level; node --test runs each file in its own process,
// so each file gets its own server and browsers (each started on first use).
//
// Env: CLASSROOM_BIN (default <repo>/target/release/classroom), CHROMIUM_BIN (default /usr/bin/chromium),
// FIREFOX_BIN (default /usr/bin/firefox-esr).

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { launchFirefox } from './firefox.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SERVER_BIN = process.env.CLASSROOM_BIN ?? path.join(REPO, 'target', 'release', 'classroom');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(HERE, 'artifacts');

const SERVER_START_TIMEOUT_MS = 20_000;
export const JOIN_TIMEOUT_MS = 30_000;
export const FIRST_MEDIA_TIMEOUT_MS = 20_000;
export const SAMPLE_GAP_MS = 3_000;
/** Bound of the smaller UI waits (a tile appearing or going, a state change). */
export const UI_TIMEOUT_MS = 10_000;

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

/**
 * The shared state: `baseUrl` of the server once started, the `browser`, every page still `opened`
 * (`{label, context, page, logs, sockets}`, for logs and screenshots on failure), the pages already
 * `closed` (their logs stay printable), and the server's output.
 */
export const harness = {
  baseUrl: null,
  /** The Chromium once started (by the first page opened in it). */
  browser: null,
  /** The Firefox once started (`{browser, newPage, close}` from firefox.mjs). */
  firefox: null,
  opened: [],
  closed: [],
  serverLog: [],
  /** The plain-HTTP redirect listener's URL when the server was started with one (HTTPS tests). */
  redirectUrl: null,
};

let server = null;
/** Flags every start of the server gets (e.g. HTTPS certificate files). */
let serverFlags = [];
/** How the browsers are started: Chromium's extra flags, Firefox's options (see firefox.mjs). */
let browserOptions = { chromiumArgs: [], firefox: {} };
/** The browsers being started or started, by name: each at most once per file. */
const launching = new Map();
/** The HTTP address the server binds (a test's own network namespace may need another). */
let serverHttp = '127.0.0.1:0';

/**
 * Registers the before/after hooks that start and stop the server and the browsers; `chromiumArgs`
 * are added to Chromium's (e.g. a sound file for the fake microphone), `firefox` are Firefox's
 * options (`{windowed: true}` for a screen share), `serverArgs` go to the server (e.g. TLS
 * certificate files), and `http` is the address the server binds (default 127.0.0.1 on a port the
 * OS picks). Each browser starts with the first page opened in it.
 */
export function useHarness({
  chromiumArgs = [],
  firefox = {},
  serverArgs = [],
  http = '127.0.0.1:0',
} = {}) {
  serverFlags = serverArgs;
  serverHttp = http;
  browserOptions = { chromiumArgs, firefox };
  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await startServer(serverHttp);
  });

  after(async () => {
    for (const { context } of harness.opened) await context.close().catch(() => {});
    await harness.browser?.close().catch(() => {});
    await harness.firefox?.close().catch(() => {});
    await stopServer();
  });
}

/** The running browser of `kind` ('chromium' | 'firefox'), started on first use. */
function browserOf(kind) {
  if (!launching.has(kind)) {
    const started =
      kind === 'firefox'
        ? launchFirefox(browserOptions.firefox).then((firefox) => (harness.firefox = firefox))
        : chromium
            .launch({ executablePath: CHROMIUM_BIN, headless: true, args: [...CHROMIUM_ARGS, ...browserOptions.chromiumArgs] })
            .then((browser) => (harness.browser = browser));
    launching.set(kind, started);
  }
  return launching.get(kind);
}

// ---- Server --------------------------------------------------------------------------------

function startServer(http) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER_BIN, ['--http', http, '--udp-port-base', '0', ...serverFlags], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    const timer = setTimeout(() => {
      reject(new Error(`the server printed no "listening on http(s)://…" within ${SERVER_START_TIMEOUT_MS} ms`));
    }, SERVER_START_TIMEOUT_MS);
    const onLine = (stream) => (line) => {
      // eslint-disable-next-line no-control-regex
      const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
      harness.serverLog.push(`[server ${stream}] ${plain}`);
      const redirect = /redirecting (http:\/\/127\.0\.0\.1:\d+) to https/.exec(plain);
      if (redirect) harness.redirectUrl = redirect[1];
      const match = /listening on (https?:\/\/(?:\d{1,3}\.){3}\d{1,3}:\d+)/.exec(plain);
      if (match && (harness.baseUrl === null || harness.baseUrl === match[1])) {
        harness.baseUrl = match[1];
        clearTimeout(timer);
        resolve(harness.baseUrl);
      }
    };
    splitLines(child.stdout, onLine('stdout'));
    splitLines(child.stderr, onLine('stderr'));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${SERVER_BIN}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      harness.serverLog.push(`[server] exited (code ${code}, signal ${signal})`);
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

/**
 * Stops the server (SIGKILL: a crash or a power cut, not a polite shutdown), waits `downMs`, and
 * starts a new one on the same address. Everything the old one held in memory is gone.
 */
export async function restartServer(downMs) {
  const child = server;
  const address = new URL(harness.baseUrl).host;
  if (child) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await sleep(downMs);
  await startServer(address);
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

/**
 * POST /api/rooms (with `adminKey` when the server needs one); the links are rewritten to the
 * address the test reaches the server at.
 */
export async function createRoom({ adminKey = null } = {}) {
  const headers = adminKey === null ? {} : { authorization: `Bearer ${adminKey}` };
  const response = await fetch(`${harness.baseUrl}/api/rooms`, { method: 'POST', headers });
  const body = await response.text();
  assert.equal(response.status, 201, `POST /api/rooms answered ${response.status}: ${body}`);
  const room = JSON.parse(body);
  // Join through the address the test reached the server at, whatever host the server names.
  const local = (url) => {
    const u = new URL(url);
    return new URL(u.pathname + u.search, harness.baseUrl).href;
  };
  return {
    ...room,
    teacher_url: local(room.teacher_url),
    pupil_url: local(room.pupil_url),
    observer_url: local(room.observer_url),
  };
}

// ---- Browser -------------------------------------------------------------------------------

/**
 * Opens `url` in a fresh browser context (own storage, camera and microphone allowed) of `browser`
 * ('chromium', the default, or 'firefox', or a Chromium the test launched itself, such as one inside
 * a network namespace). `options` may set the browser's `locale` (its preferred
 * language; Chromium only), the `viewport`, and the `name` the browser remembers.
 *
 * The participant's `page` answers the same calls in both browsers: `evaluate(fn, arg)`,
 * `waitForFunction(fn, arg, {timeout, polling})`, `click(selector)`, `screenshot({path})` and
 * `setViewportSize({width, height})` (a window made smaller makes its tiles smaller).
 */
export async function openPage(
  label,
  url,
  { browser = 'chromium', locale = 'en-US', viewport = { width: 1024, height: 720 }, name = null } = {},
) {
  const logs = [];
  const sockets = [];
  let context;
  let page;
  if (browser === 'firefox') {
    assert.equal(locale, 'en-US', 'Firefox pages keep the profile\'s language');
    ({ context, page } = await (await browserOf('firefox')).newPage({ viewport, name }));
  } else {
    // A Chromium the test launched itself (e.g. inside a network namespace) or the harness's.
    const chromiumBrowser = typeof browser === 'string' ? await browserOf('chromium') : browser;
    context = await chromiumBrowser.newContext({
      permissions: ['camera', 'microphone'],
      viewport,
      locale,
    });
    // The name the page remembers from an earlier visit (used as is with `prejoin=0`).
    if (name !== null) await context.addInitScript((n) => localStorage.setItem('classroom.name', n), name);
    page = await context.newPage();
    page.on('websocket', (ws) => sockets.push(ws.url()));
  }
  // Puppeteer says 'warn' where Playwright says 'warning'.
  page.on('console', (msg) => logs.push(`[${label}] ${msg.type().replace(/^warn$/, 'warning')}: ${msg.text()}`));
  page.on('pageerror', (error) => logs.push(`[${label}] page error: ${error.message}`));
  page.on('requestfailed', (req) => logs.push(`[${label}] request failed: ${req.url()} ${req.failure()?.errorText}`));
  const kind = browser === 'firefox' ? 'firefox' : 'chromium';
  const participant = { label, browser: kind, context, page, logs, sockets };
  harness.opened.push(participant);
  await page.goto(url, { timeout: JOIN_TIMEOUT_MS });
  return participant;
}

/** The console warnings and errors (and uncaught exceptions) `participant`'s page logged so far. */
export function problemsLogged({ logs }) {
  return logs.filter((line) => /^\[[^\]]*\] (warning|error|page error):/.test(line));
}

/** Closes a page opened by `openPage`; its console stays available to the diagnostics. */
export async function closePage(participant) {
  const index = harness.opened.indexOf(participant);
  if (index >= 0) harness.opened.splice(index, 1);
  harness.closed.push(participant);
  await participant.context.close().catch(() => {});
}

/** Runs `body`; on failure prints every page's console, the server's output, and screenshots. */
export async function withDiagnostics(name, body) {
  try {
    await body();
  } catch (error) {
    console.error(`\n---- ${name} failed: diagnostics ----`);
    for (const { label, logs } of harness.closed) {
      console.error(`-- console of ${label} (closed, ${logs.length} lines)`);
      for (const line of logs.slice(-80)) console.error(line);
    }
    for (const { label, page, logs } of harness.opened) {
      const state = await page.evaluate(() => window.classroom?.state).catch(() => 'unknown');
      console.error(`-- console of ${label} (state ${state}, ${logs.length} lines)`);
      for (const line of logs.slice(-80)) console.error(line);
      await page.screenshot({ path: path.join(ARTIFACTS, `failed-${label}.png`) }).catch(() => {});
    }
    console.error(`-- server output (last 80 lines)`);
    for (const line of harness.serverLog.slice(-80)) console.error(line);
    throw error;
  }
}

/** `page.waitForFunction` bounded by `timeout`, failing with `what` in the message. */
export async function waitUntil({ page, label }, what, fn, arg = null, timeout = UI_TIMEOUT_MS) {
  await page.waitForFunction(fn, arg, { timeout, polling: 100 }).catch((error) => {
    throw new Error(`${label}: ${what}: ${error.message}`);
  });
}

/** Waits until the page has joined; fails at once if it ended in `error` or `left`. */
export async function waitJoined({ page, label }) {
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
export async function waitTracks({ page, label }, expected) {
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
export function inboundStats(page) {
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
        ssrc: s.ssrc,
        kind: s.kind,
        participant: entry ? entry.participant : null,
        announcedKind: entry ? entry.kind : null,
        framesDecoded: s.framesDecoded ?? null,
        frameWidth: s.frameWidth ?? null,
        packetsReceived: s.packetsReceived ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
      });
    });
    return streams;
  });
}

/**
 * The candidate pair the page's media goes over: `{local, remote}`, each `{type, protocol,
 * relayProtocol, address, port}` from `getStats()` (`type` 'host', 'srflx', 'prflx' or 'relay').
 * Null while no pair is selected.
 */
export function selectedCandidatePair(page) {
  return page.evaluate(async () => {
    const report = await window.classroom.pc.getStats();
    let pairId = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId === null ? null : report.get(pairId);
    if (!pair) return null;
    const describe = (id) => {
      const c = report.get(id);
      return c
        ? { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol ?? null, address: c.address, port: c.port }
        : null;
    };
    return { state: pair.state, local: describe(pair.localCandidateId), remote: describe(pair.remoteCandidateId) };
  });
}

/** The inbound stream of `participant`'s `kind` track in `stats` (from `inboundStats`). */
export function stream(stats, participant, kind) {
  return stats.find((s) => s.participant === participant && s.kind === kind);
}

/** Samples each page's inbound streams twice, `gapMs` apart, all pages at once. */
export async function sampleInbound(participants, gapMs = SAMPLE_GAP_MS) {
  const first = await Promise.all(participants.map((p) => inboundStats(p.page)));
  await sleep(gapMs);
  const second = await Promise.all(participants.map((p) => inboundStats(p.page)));
  return participants.map((_, i) => ({ earlier: first[i], later: second[i] }));
}

/**
 * Asserts that `from`'s `kind` media grew between two samples (from `sampleInbound`): frames
 * decoded for video, packets received for audio. `what` says who should have it, for the message.
 */
export function assertMediaGrew({ earlier, later }, from, kind, what) {
  const [a, b] = [stream(earlier, from, kind), stream(later, from, kind)];
  assert.ok(a && b, `${what}: an inbound ${kind} stream from ${from}`);
  const count = kind === 'video' ? 'framesDecoded' : 'packetsReceived';
  assert.ok(b[count] > a[count], `${what}: ${kind} from ${from} grows, ${count} ${a[count]} → ${b[count]}`);
}

/** Waits until `page` has decoded a frame / received a packet from each `{participant, kind}`. */
export async function waitFirstMedia(participant, expected) {
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

/**
 * Makes `participant`'s camera keep its resolution when its encoder runs short of CPU (frame rate
 * gives instead), so a busy shared machine cannot change the widths this test looks for.
 */
export async function keepResolution(participant) {
  const preference = await participant.page.evaluate(async () => {
    const sender = window.classroom.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    const params = sender.getParameters();
    params.degradationPreference = 'maintain-resolution';
    await sender.setParameters(params);
    return sender.getParameters().degradationPreference;
  });
  assert.equal(preference, 'maintain-resolution', `${participant.label}'s camera keeps its resolution`);
}

/** Frames `page` decoded on the m-line carrying `participant`'s screen share (null: none announced). */
export function screenFrames(page, participant) {
  return page.evaluate(async (id) => {
    const c = window.classroom;
    const mid = [...c.tracks].find(([, t]) => t.participant === id && t.source === 'screen')?.[0];
    if (mid === undefined) return null;
    const transceiver = c.pc.getTransceivers().find((t) => t.mid === mid);
    const report = await c.pc.getStats(transceiver.receiver.track);
    let frames = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') frames = s.framesDecoded ?? 0;
    });
    return frames;
  }, participant);
}

/**
 * A non-loopback IPv4 address of this machine, for a server whose media browsers must reach on a
 * real interface (Firefox never pairs with a loopback candidate): that of the interface holding
 * the default route, which lives as long as the machine (a veth another test made may vanish
 * mid-run), else any. Fails, saying so, on a machine without one.
 */
export function machineAddress() {
  const interfaces = os.networkInterfaces();
  const ipv4 = (name) => (interfaces[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  let routes = '';
  try {
    routes = readFileSync('/proc/net/route', 'utf8');
  } catch {
    // Not Linux: any address will do.
  }
  // Columns: Iface Destination Gateway ...; the default route's destination is 00000000.
  const defaultInterface = routes.split('\n').map((line) => line.split(/\s+/)).find((f) => f[1] === '00000000')?.[0];
  const address = (defaultInterface && ipv4(defaultInterface)) ?? Object.keys(interfaces).map(ipv4).find(Boolean);
  if (!address) throw new Error('this machine has no non-loopback IPv4 address for the media server to announce');
  return address;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- A connection that can be cut ---------------------------------------------------------

/**
 * A TCP proxy in front of the server whose connections the test can cut (every open socket
 * dropped, new ones refused) and restore: a Wi-Fi drop, as the browser sees it, without touching
 * the media path. Returns `{baseUrl, cut(), restore(), close()}`.
 */
export async function startCuttableProxy() {
  const net = await import('node:net');
  const target = new URL(harness.baseUrl);
  const sockets = new Set();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** `url` with its origin replaced by `baseUrl` (to go through a proxy). */
export function via(baseUrl, url) {
  const u = new URL(url);
  return new URL(u.pathname + u.search, baseUrl).href;
}

/**
 * Writes a WAV file of a steady tone (`seconds` long, 48 kHz mono, 16-bit, about -12 dBFS): what
 * a fake microphone plays to sound like someone talking without pause (Chromium's own fake
 * microphone only beeps once a second).
 */
export function writeToneWav(file, seconds = 5, hz = 440) {
  const rate = 48_000;
  const samples = rate * seconds;
  const data = Buffer.alloc(44 + samples * 2);
  data.write('RIFF', 0);
  data.writeUInt32LE(36 + samples * 2, 4);
  data.write('WAVEfmt ', 8);
  data.writeUInt32LE(16, 16);
  data.writeUInt16LE(1, 20); // PCM
  data.writeUInt16LE(1, 22); // mono
  data.writeUInt32LE(rate, 24);
  data.writeUInt32LE(rate * 2, 28);
  data.writeUInt16LE(2, 32);
  data.writeUInt16LE(16, 34);
  data.write('data', 36);
  data.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  writeFileSync(file, data);
}
