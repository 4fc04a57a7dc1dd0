import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetError } from './errors.js';
import { resolveBounds, scaleCount } from './rollout-arithmetic.js';

describe('rollout arithmetic', () => {
  it('rounds surge up and unavailable down, as Kubernetes does', () => {
    assert.deepEqual(resolveBounds(10, { maxSurge: '25%', maxUnavailable: '25%' }), {
      surge: 3,
      unavailable: 2,
      maxTotal: 13,
      minAvailable: 8,
    });
    assert.deepEqual(resolveBounds(2, { maxSurge: '25%', maxUnavailable: '25%' }), {
      surge: 1,
      unavailable: 0,
      maxTotal: 3,
      minAvailable: 2,
    });
  });

  it('lets one instance be unavailable when both come to 0', () => {
    assert.equal(resolveBounds(3, { maxSurge: 0, maxUnavailable: '10%' }).unavailable, 1);
    assert.equal(resolveBounds(3, { maxSurge: '0%', maxUnavailable: 0 }).minAvailable, 2);
  });

  it('takes whole numbers as they are and caps unavailable at the size', () => {
    assert.deepEqual(resolveBounds(4, { maxSurge: 2, maxUnavailable: 9 }), {
      surge: 2,
      unavailable: 4,
      maxTotal: 6,
      minAvailable: 0,
    });
  });

  it('gives an empty fleet no room to surge from a percentage', () => {
    assert.deepEqual(resolveBounds(0, { maxSurge: '25%', maxUnavailable: '25%' }), {
      surge: 0,
      unavailable: 0,
      maxTotal: 0,
      minAvailable: 0,
    });
  });

  it('refuses a count that is neither a whole number nor a percentage', () => {
    for (const count of [-1, 1.5, '25', '25 %'] as never[]) {
      assert.throws(
        () => scaleCount(count, 10, true),
        (error: FleetError) => error.code === 'COUNT_INVALID',
      );
    }
  });
});
