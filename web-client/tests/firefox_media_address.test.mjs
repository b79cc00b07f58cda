// A server that announces only 127.0.0.1 for media (the laptop quick start's old default) and a
// Firefox pupil: Firefox gathers no loopback candidates, so it forms no candidate pair and ICE
// fails. The page must say that, from the connection's own stats — not blame a firewall.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createRoom, openPage, waitJoined, waitUntil, useHarness, withDiagnostics } from './helpers.mjs';

useHarness({ serverArgs: ['--media-bind-ip', '127.0.0.1', '--public-ip', '127.0.0.1'] });

test('Firefox told to use 127.0.0.1 for media says what failed', { timeout: 90_000 }, async () => {
  await withDiagnostics('media on loopback in Firefox', async () => {
    const room = await createRoom();
    const pupil = await openPage('pupil-firefox', `${room.pupil_url}&prejoin=0`, { browser: 'firefox' });
    await waitJoined(pupil);
    await waitUntil(
      pupil,
      'the media connection failing',
      () => window.classroom.pc?.connectionState === 'failed' || window.classroom.state === 'error',
      null,
      30_000,
    );
    const stats = await pupil.page.evaluate(async () => {
      const counts = {};
      if (window.classroom.pc.connectionState !== 'closed') {
        (await window.classroom.pc.getStats()).forEach((s) => {
          counts[s.type] = (counts[s.type] ?? 0) + 1;
        });
      }
      return counts;
    });
    console.log('the Firefox connection\'s stats by type:', JSON.stringify(stats));
    assert.equal(stats['candidate-pair'] ?? 0, 0, 'Firefox formed no candidate pair');

    await waitUntil(pupil, 'a message naming the loopback address', () =>
      /loopback/.test(document.getElementById('class-notice-text').textContent + document.getElementById('status-text').textContent));
    const shown = await pupil.page.evaluate(() =>
      [document.getElementById('class-notice-text').textContent, document.getElementById('status-text').textContent].join(' | '));
    console.log('the page says:', shown);
    assert.match(shown, /127\.0\.0\.1:\d+/, 'it names the address the server announced');
    assert.doesNotMatch(shown, /firewall/i, 'and blames no firewall');
  });
});
