// The videos the server paused for this page (`video_paused` / `video_resumed`), as the class view
// keeps them for its tiles (plain Node, no browser: a pure module).

import test from 'node:test';
import assert from 'node:assert/strict';
import { SERVER_MESSAGE_TYPES } from '../js/protocol.js';
import { PAUSE_REASONS, VideoPauses, tileIdFor } from '../js/video-pauses.js';
import { CATALOGS } from '../js/strings.js';

test('the page takes both messages from the server', () => {
  assert.ok(SERVER_MESSAGE_TYPES.includes('video_paused'));
  assert.ok(SERVER_MESSAGE_TYPES.includes('video_resumed'));
});

test('a pause is kept by the tile showing that video, the newest message winning', () => {
  const pauses = new VideoPauses();
  assert.equal(pauses.paused({ participant: 'p1', source: 'camera', reason: 'last_n' }), 'p1');
  assert.equal(pauses.paused({ participant: 'p1', source: 'screen', reason: 'bandwidth' }), 'p1/screen');
  assert.equal(pauses.reason('p1'), 'last_n');
  assert.equal(pauses.reason('p1/screen'), 'bandwidth');

  pauses.paused({ participant: 'p1', source: 'camera', reason: 'bandwidth' });
  assert.equal(pauses.reason('p1'), 'bandwidth', 'a newer reason replaces the older');
  assert.equal(pauses.resumed({ participant: 'p1', source: 'camera' }), 'p1');
  assert.equal(pauses.reason('p1'), null);
  assert.equal(pauses.reason('p1/screen'), 'bandwidth', 'the screen is another video');
});

test('a pause ends with its track, its participant, or a new media session', () => {
  const pauses = new VideoPauses();
  pauses.paused({ participant: 'p1', source: 'camera', reason: 'bandwidth' });
  pauses.paused({ participant: 'p1', source: 'screen', reason: 'bandwidth' });
  pauses.paused({ participant: 'p2', source: 'camera', reason: 'last_n' });

  pauses.forget('p1', 'screen');
  assert.equal(pauses.reason('p1/screen'), null);
  pauses.forgetParticipant('p1');
  assert.equal(pauses.reason('p1'), null);
  assert.deepEqual(pauses.clear(), ['p2'], 'clear names the tiles to show again');
  assert.equal(pauses.reason('p2'), null);
});

test('a message that names no video is ignored', () => {
  const pauses = new VideoPauses();
  assert.equal(pauses.paused({ participant: 'p1', source: 'mic', reason: 'bandwidth' }), null);
  assert.equal(pauses.paused({ participant: 'p1', source: 'camera' }), null, 'no reason');
  assert.equal(pauses.paused({ source: 'camera', reason: 'bandwidth' }), null, 'no participant');
  assert.equal(pauses.resumed({ participant: 'p1' }), null);
  assert.deepEqual(pauses.clear(), []);
});

test('tile ids match the class view, and every language explains every reason', () => {
  assert.equal(tileIdFor('p7', 'camera'), 'p7');
  assert.equal(tileIdFor('p7', 'screen'), 'p7/screen');
  for (const [language, strings] of Object.entries(CATALOGS)) {
    for (const reason of PAUSE_REASONS) {
      assert.ok(strings.videoPaused[reason], `${language}.videoPaused.${reason}`);
      assert.ok(strings.screenPaused[reason], `${language}.screenPaused.${reason}`);
    }
  }
});
