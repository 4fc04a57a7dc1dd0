import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AutoscaleHistory,
  defaultScalingBehavior,
  initialHistory,
  limitScaleRate,
  recordScale,
  type ScalingBehavior,
  stabilizeRecommendation,
} from './autoscale-behavior.js';

const t0 = Date.UTC(2025, 0, 1);
const behavior = defaultScalingBehavior;
const empty: AutoscaleHistory = { recommendations: [], scaleUps: [], scaleDowns: [] };

function limit(
  history: AutoscaleHistory,
  size: number,
  desired: number,
  now = t0,
  bounds = { min: 1, max: 100 },
) {
  return limitScaleRate(history, { size, desired, now, behavior, ...bounds });
}

describe('the scale-up rate limit (HPA’s default: the larger of 4 instances or 100% per 15 s)', () => {
  it('adds at most 4 to a small fleet: 2 → 6, not 20', () => {
    assert.deepEqual(limit(empty, 2, 20), { replicas: 6, reason: 'scale-up-limit', limit: 6 });
  });

  it('doubles a larger fleet: 10 → 20, not 100', () => {
    assert.deepEqual(limit(empty, 10, 100), { replicas: 20, reason: 'scale-up-limit', limit: 20 });
  });

  it('rounds the percentage up, so 3 → max(7, 6) = 7 and 5 → max(9, 10) = 10', () => {
    assert.equal(limit(empty, 3, 50).replicas, 7);
    assert.equal(limit(empty, 5, 50).replicas, 10);
  });

  it('counts what was added within the last 15 s against the period: no more until it has passed', () => {
    const scaled = recordScale(empty, { from: 2, to: 6, now: t0, behavior });

    // From 6 with 4 added 5 s ago, the period started at 2: max(2 + 4, 2 × 2) = 6.
    const soon = limit(scaled, 6, 20, t0 + 5_000);
    const justBefore = limit(scaled, 6, 20, t0 + 14_999);
    // At exactly 15 s the event is out of the period: max(6 + 4, 12) = 12.
    const after = limit(scaled, 6, 20, t0 + 15_000);

    assert.deepEqual([soon.replicas, soon.reason], [6, 'scale-up-limit']);
    assert.equal(justBefore.replicas, 6);
    assert.equal(after.replicas, 12);
  });

  it('measures from the size at the period’s start: after 8 → 4, up again may reach max(8 + 4, 8 × 2) = 16', () => {
    const scaled = recordScale(empty, { from: 8, to: 4, now: t0, behavior });

    assert.equal(limit(scaled, 4, 50, t0 + 1_000).replicas, 16);
  });

  it('says too-many-replicas when max is the tighter bound', () => {
    assert.deepEqual(limit(empty, 10, 100, t0, { min: 1, max: 12 }), {
      replicas: 12,
      reason: 'too-many-replicas',
      limit: 20,
    });
  });

  it('leaves a change within the limits as it is', () => {
    assert.deepEqual(limit(empty, 4, 7), { replicas: 7, reason: 'desired-within-range' });
  });
});

describe('the scale-down limit (HPA’s default: 100% per 15 s, never below min)', () => {
  it('lets a fleet scale down to the desired size at once', () => {
    assert.deepEqual(limit(empty, 10, 1), { replicas: 1, reason: 'desired-within-range' });
  });

  it('stops at min', () => {
    assert.deepEqual(limit(empty, 10, 0, t0, { min: 2, max: 10 }), {
      replicas: 2,
      reason: 'too-few-replicas',
      limit: 0,
    });
  });

  it('follows a pods policy over its period when one is given', () => {
    const slow: ScalingBehavior = {
      ...behavior,
      scaleDown: { ...behavior.scaleDown, policies: [{ type: 'pods', value: 2, periodSeconds: 60 }] },
    };
    const scaled = recordScale(empty, { from: 10, to: 8, now: t0, behavior: slow });

    const next = limitScaleRate(scaled, {
      size: 8,
      desired: 1,
      min: 1,
      max: 10,
      now: t0 + 30_000,
      behavior: slow,
    });

    // The period started at 10: no lower than 10 − 2 = 8 until 60 s have passed.
    assert.deepEqual(next, { replicas: 8, reason: 'scale-down-limit', limit: 8 });
  });
});

describe('the stabilization window', () => {
  it('takes the highest recommendation of the last 300 s on a scale-down', () => {
    let history = initialHistory(4, t0);
    history = stabilizeRecommendation(history, { size: 4, desired: 8, now: t0 + 10_000, behavior }).history;

    const held = stabilizeRecommendation(history, { size: 8, desired: 3, now: t0 + 60_000, behavior });

    assert.deepEqual([held.replicas, held.reason], [8, 'scale-down-stabilized']);
  });

  it('forgets a recommendation once it is 300 s old', () => {
    let history = initialHistory(4, t0);
    history = stabilizeRecommendation(history, { size: 4, desired: 8, now: t0, behavior }).history;
    history = stabilizeRecommendation(history, { size: 8, desired: 3, now: t0 + 100_000, behavior }).history;

    const atEdge = stabilizeRecommendation(history, { size: 8, desired: 2, now: t0 + 300_000, behavior });
    const after = stabilizeRecommendation(atEdge.history, {
      size: 8,
      desired: 2,
      now: t0 + 300_001,
      behavior,
    });

    // At exactly 300 s the t0 recommendation (8) is no longer within the window; 3 from 100 s is.
    assert.deepEqual([atEdge.replicas, atEdge.reason], [3, 'scale-down-stabilized']);
    assert.equal(after.replicas, 3);
    assert.ok(after.history.recommendations.every((one) => one.at > t0));
  });

  it('scales up at once with no scale-up window', () => {
    const history = stabilizeRecommendation(initialHistory(4, t0), {
      size: 4,
      desired: 2,
      now: t0,
      behavior,
    }).history;

    const up = stabilizeRecommendation(history, { size: 4, desired: 9, now: t0 + 1_000, behavior });

    assert.deepEqual([up.replicas, up.reason], [9, 'ready-for-new-scale']);
  });

  it('takes the lowest recommendation of a scale-up window when one is set', () => {
    const cautious: ScalingBehavior = {
      ...behavior,
      scaleUp: { ...behavior.scaleUp, stabilizationWindowSeconds: 60 },
    };
    let history = initialHistory(4, t0);
    history = stabilizeRecommendation(history, {
      size: 4,
      desired: 6,
      now: t0 + 10_000,
      behavior: cautious,
    }).history;

    const up = stabilizeRecommendation(history, {
      size: 4,
      desired: 9,
      now: t0 + 20_000,
      behavior: cautious,
    });

    // The lowest of 4 (the initial one), 6 and 9 is 4: not up yet.
    assert.deepEqual([up.replicas, up.reason], [4, 'scale-up-stabilized']);
  });

  it('remembers the recommendation unstabilized', () => {
    const result = stabilizeRecommendation(initialHistory(8, t0), {
      size: 8,
      desired: 3,
      now: t0 + 1,
      behavior,
    });

    assert.deepEqual(result.history.recommendations.at(-1), { replicas: 3, at: t0 + 1 });
  });
});

describe('scale events', () => {
  it('are forgotten once older than the longest policy period', () => {
    let history = recordScale(empty, { from: 2, to: 6, now: t0, behavior });
    history = recordScale(history, { from: 6, to: 12, now: t0 + 20_000, behavior });

    assert.deepEqual(history.scaleUps, [{ change: 6, at: t0 + 20_000 }]);
  });

  it('are not recorded for no change', () => {
    assert.equal(recordScale(empty, { from: 4, to: 4, now: t0, behavior }), empty);
  });
});
