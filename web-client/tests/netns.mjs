// A network of the test's own: a network namespace joined to this one by a veth pair, with
// addresses from the benchmarking range (198.18.0.0/15, RFC 2544: never routed, never a real
// network's), and a firewall inside it (nft). Chromium runs inside through a small wrapper script
// given to playwright-core as its executable. Everything is removed by `remove()`, also when a
// test failed, and at process exit as a last resort. Needs root (`ip netns`, `nft`).

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

function run(command, args, input) {
  return execFileSync(command, args, { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8' });
}

/**
 * Creates namespace `name` (an old one of that name is removed first) with a veth pair: the host
 * end gets `hostAddress`, the namespace end `nsAddress`, both in a /30. Returns
 * `{name, hostAddress, nsAddress, exec(args, input), chromiumWrapper, remove()}`.
 */
export function createNamespace(name) {
  // One /30 per process, so files run side by side do not collide.
  const subnet = process.pid % 16_000;
  const base = 4 * subnet;
  const third = Math.floor(base / 256);
  const fourth = base % 256;
  const prefix = `198.${18 + Math.floor(third / 256)}.${third % 256}`;
  const hostAddress = `${prefix}.${fourth + 1}`;
  const nsAddress = `${prefix}.${fourth + 2}`;
  const hostEnd = `${name}-h`.slice(0, 15);
  const nsEnd = `${name}-n`.slice(0, 15);
  let dir = null;

  const remove = () => {
    // Deleting the namespace deletes its veth end, and with it the host end.
    try {
      run('ip', ['netns', 'del', name]);
    } catch {
      // Not there (any more).
    }
    try {
      run('ip', ['link', 'del', hostEnd]);
    } catch {
      // Gone with the namespace.
    }
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  };
  // A namespace of this name left by a run that was killed.
  remove();
  dir = mkdtempSync(path.join(tmpdir(), `${name}-`));
  try {
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd]);
    run('ip', ['link', 'set', nsEnd, 'netns', name]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostEnd]);
    run('ip', ['link', 'set', hostEnd, 'up']);
    const inside = (args) => run('ip', ['netns', 'exec', name, ...args]);
    inside(['ip', 'addr', 'add', `${nsAddress}/30`, 'dev', nsEnd]);
    inside(['ip', 'link', 'set', nsEnd, 'up']);
    inside(['ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    remove();
    throw new Error(`could not set up the test network namespace ${name} (root, ip, veth needed): ${error.stderr ?? error.message}`);
  }
  process.on('exit', remove);

  const chromiumWrapper = path.join(dir, 'chromium-in-namespace');
  writeFileSync(chromiumWrapper, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM_BIN} "$@"\n`);
  chmodSync(chromiumWrapper, 0o755);

  return {
    name,
    hostAddress,
    nsAddress,
    /** Runs `args` inside the namespace; returns its standard output. */
    exec: (args, input) => run('ip', ['netns', 'exec', name, ...args], input),
    chromiumWrapper,
    remove,
  };
}
