// Why the media connection failed, from what the browser gathered, what the server announced and
// the pairs formed (pure functions; plain Node, no browser). The real Firefox case is in
// firefox_media_address.test.mjs.

import test from 'node:test';
import assert from 'node:assert/strict';
import { candidatesOf, diagnose } from '../js/ice-diagnosis.js';

const SERVER_SDP = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host',
  'a=candidate:2 1 tcp 1518280447 127.0.0.1 40001 typ host tcptype passive',
  '',
].join('\r\n');

const loopbackServer = [{ protocol: 'udp', address: '127.0.0.1', port: 40000 }];
const lanServer = [{ protocol: 'udp', address: '192.0.2.2', port: 40000 }];
const browserOnLan = [{ protocol: 'udp', address: '192.0.2.7' }];

test('the candidates of a description, each with protocol, address and port', () => {
  assert.deepEqual(candidatesOf(SERVER_SDP), [
    { protocol: 'udp', address: '127.0.0.1', port: 40000 },
    { protocol: 'udp', address: '127.0.0.1', port: 40000 },
    { protocol: 'tcp', address: '127.0.0.1', port: 40001 },
  ]);
  assert.deepEqual(candidatesOf(undefined), []);
});

test('a server announcing only loopback, to a browser without loopback candidates: no pair, and why', () => {
  assert.deepEqual(diagnose({ local: browserOnLan, remote: loopbackServer, pairs: [] }), {
    reason: 'loopback-only',
    server: 'UDP 127.0.0.1:40000',
  });
});

test('no address of its own, checks unanswered, a connection lost, and no pair for another reason', () => {
  assert.equal(diagnose({ local: [], remote: lanServer, pairs: [] }).reason, 'no-local-address');
  assert.equal(
    diagnose({ local: browserOnLan, remote: lanServer, pairs: [{ state: 'failed', requestsSent: 9, responsesReceived: 0 }] }).reason,
    'no-answer',
  );
  assert.equal(
    diagnose({ local: browserOnLan, remote: lanServer, pairs: [{ state: 'failed' }, { state: 'succeeded' }] }).reason,
    'lost',
  );
  assert.equal(diagnose({ local: [{ protocol: 'udp', address: 'fd00::7' }], remote: lanServer, pairs: [] }).reason, 'no-pair');
});
