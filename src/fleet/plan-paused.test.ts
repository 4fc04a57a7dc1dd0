import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceCount } from '../specfile/fleet-section.js';
import { planPaused } from './plan-paused.js';
import { type ObservedInstance, planRollout } from './plan-rollout.js';

const now = 1_000_000;
const strategy = { maxSurge: 1 as InstanceCount, maxUnavailable: 1 as InstanceCount, minReadySeconds: 5 };
/** Halfway through a rollout from r1 to r2. */
const fleet = { revision: 'r2', size: 4, strategy, knownRevisions: new Set(['r1', 'r2']) };

function instance(id: string, revision: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return { id, revision, state: 'running', readySince: now - 60_000, unhealthy: false, ...fields };
}

const halfway = [instance('a', 'r1'), instance('b', 'r1'), instance('c', 'r2'), instance('d', 'r2')];

describe('planPaused', () => {
  it('neither makes nor removes anything where the rolling planner would move the rollout on', () => {
    assert.notDeepEqual(planRollout(fleet, { instances: halfway, now }), []);

    assert.deepEqual(planPaused(fleet, { instances: halfway, now }), []);
  });

  it('still scales up and down', () => {
    assert.deepEqual(planPaused({ ...fleet, size: 6 }, { instances: halfway, now }), [
      { kind: 'create', revision: 'r2', count: 2 },
    ]);
    // Size 2 with a surge of 1: three may stay while the rollout is paused halfway.
    assert.deepEqual(planPaused({ ...fleet, size: 2 }, { instances: halfway, now }), [
      { kind: 'remove', id: 'a', reason: 'scale-down' },
    ]);
  });

  it('keeps the instances the surge allowed when paused halfway, as Kubernetes keeps surge pods', () => {
    const surged = [...halfway, instance('e', 'r2', { readySince: undefined })];

    assert.deepEqual(planPaused(fleet, { instances: surged, now }), []);
  });

  it('still replaces an unhealthy or exited instance, of either revision', () => {
    const instances = [
      instance('a', 'r1', { unhealthy: true }),
      instance('b', 'r1'),
      instance('c', 'r2', { state: 'exited', readySince: undefined }),
      instance('d', 'r2'),
    ];

    assert.deepEqual(planPaused(fleet, { instances, now }), [
      { kind: 'remove', id: 'a', reason: 'unhealthy' },
      { kind: 'remove', id: 'c', reason: 'exited' },
      { kind: 'create', revision: 'r2', count: 2 },
    ]);
  });

  it('still removes an instance of a revision the fleet never ran', () => {
    const instances = [...halfway, instance('z', 'r9')];

    assert.deepEqual(planPaused(fleet, { instances, now }), [{ kind: 'remove', id: 'z', reason: 'orphan' }]);
  });
});
