// The connection-quality mark's thresholds (pure functions; plain Node, no browser).

import test from 'node:test';
import assert from 'node:assert/strict';
import { rate, worse } from '../js/quality.js';

test('loss, jitter and round-trip time each lower the mark', () => {
  assert.equal(rate({ received: 100, lost: 0 }), 'good');
  assert.equal(rate({ received: 97, lost: 3 }), 'fair', '3 % loss');
  assert.equal(rate({ received: 90, lost: 10 }), 'poor', '10 % loss');
  assert.equal(rate({ received: 100, lost: 0, jitter: 0.05 }), 'fair', '50 ms jitter');
  assert.equal(rate({ received: 100, lost: 0, rtt: 1.0 }), 'poor', '1 s round trip');
});

test('nothing expected is unknown, and a negative loss (duplicates) counts as none', () => {
  assert.equal(rate({ received: 0, lost: 0 }), 'unknown');
  assert.equal(rate({ received: 50, lost: -2 }), 'good');
});

test('the worse of two marks wins, and unknown loses to any measurement', () => {
  assert.equal(worse('good', 'poor'), 'poor');
  assert.equal(worse('unknown', 'good'), 'good');
  assert.equal(worse('fair', 'unknown'), 'fair');
});
