import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedInstance } from './plan-rollout.js';
import { assessRollout, markProgress, type ProgressInput } from './rollout-progress.js';

const start = 1_000_000;

function instance(id: string, revision: string, readySince?: number): ObservedInstance {
  return {
    id,
    revision,
    state: 'running',
    unhealthy: false,
    ...(readySince !== undefined ? { readySince } : {}),
  };
}

function rollout(fields: Partial<ProgressInput> = {}): ProgressInput {
  return {
    revision: 'r2',
    size: 2,
    minReadySeconds: 5,
    progressDeadlineSeconds: 60,
    failedNew: 0,
    mark: { at: start, newAvailable: 0, oldAlive: 2 },
    ...fields,
  };
}

describe('assessRollout', () => {
  it('is complete when size instances of the new revision are available and no old one is left', () => {
    const instances = [instance('a', 'r2', start), instance('b', 'r2', start)];

    assert.deepEqual(assessRollout(rollout(), { instances, now: start + 5000 }).verdict, {
      kind: 'complete',
    });
    assert.deepEqual(assessRollout(rollout(), { instances, now: start + 4999 }).verdict, {
      kind: 'progressing',
    });
  });

  it('is not complete while an old instance is still there', () => {
    const instances = [instance('a', 'r2', start), instance('b', 'r2', start), instance('c', 'r1', start)];

    assert.deepEqual(assessRollout(rollout(), { instances, now: start + 9000 }).verdict, {
      kind: 'progressing',
    });
  });

  it('fails on health as soon as an instance of the new revision exits or turns unhealthy', () => {
    const instances = [instance('a', 'r1', start), instance('b', 'r1', start)];

    assert.deepEqual(assessRollout(rollout({ failedNew: 1 }), { instances, now: start }).verdict, {
      kind: 'failed',
      reason: 'health',
    });
  });

  it('fails on the deadline when nothing moved for progressDeadlineSeconds', () => {
    const instances = [instance('a', 'r1', start), instance('b', 'r1', start), instance('n', 'r2')];

    assert.deepEqual(assessRollout(rollout(), { instances, now: start + 60_000 }).verdict, {
      kind: 'progressing',
    });
    assert.deepEqual(assessRollout(rollout(), { instances, now: start + 60_001 }).verdict, {
      kind: 'failed',
      reason: 'deadline',
    });
  });

  it('moves the mark when an old instance goes away, which restarts the deadline', () => {
    const instances = [instance('a', 'r1', start), instance('n', 'r2')];

    const { mark, verdict } = assessRollout(rollout(), { instances, now: start + 50_000 });

    assert.deepEqual(verdict, { kind: 'progressing' });
    assert.deepEqual(mark, { at: start + 50_000, newAvailable: 0, oldAlive: 1 });
  });

  it('marks the starting counts of a rollout', () => {
    const instances = [instance('a', 'r1', start), instance('b', 'r2', start)];

    assert.deepEqual(markProgress(rollout(), { instances, now: start + 10_000 }), {
      at: start + 10_000,
      newAvailable: 1,
      oldAlive: 1,
    });
  });
});
