// The reconnection schedule (plain Node, fake timers from node:test).

import test, { mock } from 'node:test';
import assert from 'node:assert/strict';
import { GRACE_MS, Reconnector, retryDelay } from '../js/reconnect.js';

test('retries come quickly at first, then every few seconds', () => {
  assert.equal(retryDelay(0), 250);
  assert.equal(retryDelay(3), 2000);
  assert.equal(retryDelay(50), 5000);
});

test('it resumes on the first socket that opens, and gives up after the grace period', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const events = [];
    let opens = 0;
    const reconnector = new Reconnector({
      connect: async () => {
        opens += 1;
        if (opens < 3) throw new Error('refused');
        return { id: opens };
      },
      resume: (c) => events.push(`resume ${c.id}`),
      onWaiting: (w) => events.push(`waiting ${w}`),
      onGiveUp: () => events.push('gave up'),
    });
    reconnector.start();
    for (let i = 0; i < 10; i += 1) {
      mock.timers.tick(1000);
      await Promise.resolve();
      await Promise.resolve();
    }
    assert.deepEqual(events, ['waiting true', 'resume 3']);
    reconnector.succeeded();
    assert.deepEqual(events.at(-1), 'waiting false');

    // A server that never comes back: the user is told once the grace period is over.
    const gone = [];
    const never = new Reconnector({
      connect: async () => {
        throw new Error('refused');
      },
      resume: () => gone.push('resumed?'),
      onWaiting: (w) => gone.push(`waiting ${w}`),
      onGiveUp: () => gone.push('gave up'),
    });
    never.start();
    for (let t = 0; t < GRACE_MS + 10_000; t += 250) {
      mock.timers.tick(250);
      await Promise.resolve();
      await Promise.resolve();
    }
    assert.deepEqual(gone, ['waiting true', 'gave up']);
    assert.equal(never.active, false);
  } finally {
    mock.timers.reset();
  }
});
