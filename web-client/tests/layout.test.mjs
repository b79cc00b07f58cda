// The stage and page choices of the class view (pure functions; plain Node, no browser).

import test from 'node:test';
import assert from 'node:assert/strict';
import { chooseStage, pageOf } from '../js/layout.js';

const teacher = { id: 't', role: 'teacher' };
const pupilA = { id: 'a', role: 'pupil' };
const pupilB = { id: 'b', role: 'pupil' };
const me = { id: 'me', role: 'pupil', self: true };

test('a pupil sees the teacher on the stage, a teacher sees a plain grid', () => {
  assert.equal(chooseStage([me, teacher, pupilA], { viewerRole: 'pupil', pinned: null }), 't');
  assert.equal(chooseStage([{ ...teacher, self: true }, pupilA], { viewerRole: 'teacher', pinned: null }), null);
  assert.equal(chooseStage([me, pupilA], { viewerRole: 'pupil', pinned: null }), null, 'no teacher yet');
});

test('a shared screen wins over the pin and the teacher, a pin over the teacher', () => {
  const screen = { id: 'a/screen', role: 'pupil', screen: true };
  assert.equal(chooseStage([me, teacher, pupilA, screen], { viewerRole: 'pupil', pinned: 'b' }), 'a/screen');
  assert.equal(chooseStage([me, teacher, pupilA, pupilB], { viewerRole: 'pupil', pinned: 'b' }), 'b');
  assert.equal(chooseStage([me, teacher], { viewerRole: 'pupil', pinned: 'gone' }), 't', 'a pin of someone who left is ignored');
  const ownScreen = { id: 'me/screen', role: 'teacher', screen: true, self: true };
  assert.equal(chooseStage([ownScreen, pupilA], { viewerRole: 'teacher', pinned: null }), null, 'not our own screen');
});

test('pages are clamped and cover every item once', () => {
  const items = Array.from({ length: 19 }, (_, i) => i);
  assert.deepEqual(pageOf(items, 0, 8), { items: [0, 1, 2, 3, 4, 5, 6, 7], page: 0, pages: 3 });
  assert.deepEqual(pageOf(items, 2, 8).items, [16, 17, 18]);
  assert.equal(pageOf(items, 9, 8).page, 2, 'past the end: the last page');
  assert.equal(pageOf(items, -1, 8).page, 0);
  assert.deepEqual(pageOf([], 0, 8), { items: [], page: 0, pages: 1 });
});
