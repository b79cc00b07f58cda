// Which camera quality the page asks for, by the size a tile is shown at (plain Node, no browser:
// the size watcher is replaced by one the test drives).

import test from 'node:test';
import assert from 'node:assert/strict';
import { FULL_LAYER_ABOVE_PX, VideoQualityRequests, qualityForWidth } from '../js/video-quality.js';

test('a thumbnail needs the low layer, the stage the full one, in device pixels', () => {
  assert.equal(qualityForWidth(0), 'low', 'a hidden tile');
  assert.equal(qualityForWidth(180), 'low');
  assert.equal(qualityForWidth(FULL_LAYER_ABOVE_PX), 'low');
  assert.equal(qualityForWidth(FULL_LAYER_ABOVE_PX + 1), 'high');
  assert.equal(qualityForWidth(640), 'high');
  assert.equal(qualityForWidth(250, 2), 'high', 'a phone with a dense screen');
});

/** A size watcher the test resizes by hand. */
function fakeObserver() {
  const watcher = { callback: null, observed: new Set() };
  watcher.make = (callback) => {
    watcher.callback = callback;
    return { observe: (el) => watcher.observed.add(el), unobserve: (el) => watcher.observed.delete(el) };
  };
  watcher.resize = (el, width) => watcher.callback([{ target: el, contentRect: { width } }]);
  return watcher;
}

test('each change is asked once, and what could not be sent is asked again', () => {
  const watcher = fakeObserver();
  const sent = [];
  let online = true;
  const requests = new VideoQualityRequests((participant, quality) => {
    if (online) sent.push([participant, quality]);
    return online;
  }, watcher.make);
  const [teacherTile, pupilTile] = [{}, {}];
  requests.watch('p1', teacherTile);
  requests.watch('p2', pupilTile);

  watcher.resize(teacherTile, 800);
  watcher.resize(pupilTile, 160);
  watcher.resize(teacherTile, 790);
  assert.deepEqual(sent, [['p1', 'high'], ['p2', 'low']], 'a resize within the same quality sends nothing');

  online = false;
  watcher.resize(teacherTile, 160);
  assert.equal(sent.length, 2);
  online = true;
  requests.flush();
  assert.deepEqual(sent.at(-1), ['p1', 'low'], 'sent once the socket is back');
  requests.flush();
  assert.equal(sent.length, 3, 'and only once');

  requests.unwatch(pupilTile);
  assert.equal(watcher.observed.has(pupilTile), false);
  watcher.resize(pupilTile, 800);
  assert.equal(sent.length, 3, 'a removed tile asks nothing');
});
