import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CrashBackoff, isDegraded, mayCreate, noCrashes, recordCrashes } from './crash-backoff.js';

function crashAt(times: number[]): CrashBackoff {
  return times.reduce((state, now) => recordCrashes(state, { count: 1, now }), noCrashes);
}

describe('crash backoff', () => {
  it('doubles the wait with each crash in a row: 1 s, 2 s, 4 s', () => {
    assert.equal(crashAt([0]).notBefore, 1000);
    assert.equal(crashAt([0, 1000]).notBefore, 3000);
    assert.equal(crashAt([0, 1000, 3000]).notBefore, 7000);
  });

  it('caps the wait at 60 s', () => {
    const state = crashAt(Array.from({ length: 20 }, (_, index) => index * 60_000));

    assert.equal(state.notBefore - (state.lastCrashAt ?? 0), 60_000);
  });

  it('forbids creates until the wait is over', () => {
    const state = crashAt([0, 1000]);

    assert.equal(mayCreate(state, 2999), false);
    assert.equal(mayCreate(state, 3000), true);
  });

  it('marks the fleet degraded from the third crash in a row until it has been stable for 2 minutes', () => {
    const state = crashAt([0, 1000, 3000]);

    assert.equal(isDegraded(crashAt([0, 1000]), { now: 3000 }), false);
    assert.equal(isDegraded(state, { now: 3000 }), true);
    assert.equal(isDegraded(state, { now: 122_999 }), true);
    assert.equal(isDegraded(state, { now: 123_000 }), false);
  });

  it('starts again from 1 s after a stable period', () => {
    const state = recordCrashes(crashAt([0, 1000, 3000]), { count: 1, now: 200_000 });

    assert.equal(state.crashes, 1);
    assert.equal(state.notBefore, 201_000);
  });
});
