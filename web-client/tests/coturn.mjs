// A real coturn (Debian's `turnserver`) for the relay tests: started by the test on loopback, with
// the TURN REST scheme (`use-auth-secret`) and a shared secret the classroom server is also given,
// stopped after. Also mints credentials the way the server does, for the probes that check coturn
// refuses a wrong or an expired one.
//
// Env: TURNSERVER_BIN (default /usr/bin/turnserver).

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const TURNSERVER_BIN = process.env.TURNSERVER_BIN ?? '/usr/bin/turnserver';
const START_TIMEOUT_MS = 10_000;
/** Relay ports coturn may hand out: a class of two needs a handful. */
const RELAY_PORTS = 20;

/**
 * Picks free ports, writes coturn's configuration and the shared secret into a temp directory.
 * Returns `{url, secretFile, secret, start(), stop(), log}`; `start()` runs coturn and resolves
 * once it answers a STUN binding request.
 */
export async function prepareCoturn() {
  const dir = mkdtempSync(path.join(tmpdir(), 'classroom-coturn-'));
  const secret = randomBytes(32).toString('base64');
  const secretFile = path.join(dir, 'turn-secret');
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const [port] = await freeUdpPorts(1);
  const relay = await freeUdpPorts(RELAY_PORTS, true);
  const config = [
    'listening-ip=127.0.0.1',
    `listening-port=${port}`,
    'relay-ip=127.0.0.1',
    `min-port=${relay[0]}`,
    `max-port=${relay[relay.length - 1]}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    'realm=classroom.test',
    'fingerprint',
    // The class's media server is on loopback too: coturn refuses loopback peers by default.
    'allow-loopback-peers',
    'no-cli',
    'no-tls',
    'no-dtls',
    'no-multicast-peers',
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`,
    'log-file=stdout',
    'simple-log',
  ];
  const configFile = path.join(dir, 'turnserver.conf');
  writeFileSync(configFile, `${config.join('\n')}\n`);

  const log = [];
  let child = null;
  return {
    url: `turn:127.0.0.1:${port}`,
    port,
    secret,
    secretFile,
    log,
    async start() {
      child = spawn(TURNSERVER_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      for (const stream of [child.stdout, child.stderr]) {
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => log.push(...chunk.split('\n').filter((l) => l !== '').map((l) => `[coturn] ${l}`)));
      }
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      const ready = stunAnswers(port, START_TIMEOUT_MS);
      const first = await Promise.race([ready.then(() => null), exited]);
      if (first !== null) throw new Error(`turnserver exited at start (${JSON.stringify(first)}): ${log.slice(-20).join('\n')}`);
    },
    async stop() {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    kill() {
      child?.kill('SIGKILL');
    },
  };
}

/**
 * A credential of the TURN REST scheme: username `<expiry>:<who>`, password
 * base64(HMAC-SHA1(secret, username)). `expiresInSecs` may be negative (an expired one).
 */
export function mintCredential(secret, who, expiresInSecs) {
  const username = `${Math.floor(Date.now() / 1000) + expiresInSecs}:${who}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** `count` free UDP ports on loopback (consecutive when `consecutive`), found by binding them. */
async function freeUdpPorts(count, consecutive = false) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = consecutive ? 20_000 + Math.floor(Math.random() * 30_000) : 0;
    const sockets = [];
    try {
      for (let i = 0; i < count; i += 1) {
        const socket = dgram.createSocket('udp4');
        sockets.push(socket);
        await new Promise((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(consecutive ? base + i : 0, '127.0.0.1', resolve);
        });
      }
      return sockets.map((s) => s.address().port);
    } catch {
      // Taken: try another range.
    } finally {
      for (const s of sockets) s.close();
    }
  }
  throw new Error(`no ${count} free UDP ports found on loopback`);
}

/** Resolves once a STUN binding request to 127.0.0.1:`port` gets an answer (within `timeoutMs`). */
function stunAnswers(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const done = (error) => {
      clearInterval(every);
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve();
    };
    socket.on('message', (message) => {
      if (message.length >= 20 && message.readUInt16BE(0) === 0x0101) done();
    });
    socket.on('error', () => {});
    const every = setInterval(() => socket.send(request, port, '127.0.0.1'), 100);
    const timer = setTimeout(() => done(new Error(`turnserver did not answer STUN on port ${port} within ${timeoutMs} ms`)), timeoutMs);
  });
}
