import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceCount } from '../specfile/fleet-section.js';
import { planRecreate } from './plan-recreate.js';
import type { ObservedInstance } from './plan-rollout.js';

const now = 1_000_000;
const strategy = {
  maxSurge: '25%' as InstanceCount,
  maxUnavailable: '25%' as InstanceCount,
  minReadySeconds: 5,
};
const fleet = { revision: 'r2', size: 3, strategy, knownRevisions: new Set(['r1', 'r2']) };

function instance(id: string, revision: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return { id, revision, state: 'running', readySince: now - 60_000, unhealthy: false, ...fields };
}

describe('planRecreate', () => {
  it('removes every old instance at once, ready or not, and makes nothing new meanwhile', () => {
    const instances = [
      instance('a', 'r1'),
      instance('b', 'r1'),
      instance('c', 'r1', { readySince: undefined }),
    ];

    const actions = planRecreate(fleet, { instances, now });

    assert.deepEqual(
      actions.map((action) => action.kind === 'remove' && `${action.id}:${action.reason}`).sort(),
      ['a:replaced', 'b:replaced', 'c:replaced'],
    );
  });

  it('makes no new instance while an old one is still being removed', () => {
    const instances = [instance('a', 'r1', { state: 'removing', readySince: undefined })];

    assert.deepEqual(planRecreate(fleet, { instances, now }), []);
  });

  it('makes the whole new revision at once once no old instance is left', () => {
    const instances = [instance('a', 'r1', { state: 'exited', readySince: undefined })];

    assert.deepEqual(planRecreate(fleet, { instances, now }), [
      { kind: 'remove', id: 'a', reason: 'exited' },
      { kind: 'create', revision: 'r2', count: 3 },
    ]);
  });

  it('scales and heals as a rolling fleet once the new revision is all there is', () => {
    const instances = [instance('x', 'r2'), instance('y', 'r2', { unhealthy: true })];

    assert.deepEqual(planRecreate(fleet, { instances, now }), [
      { kind: 'remove', id: 'y', reason: 'unhealthy' },
      { kind: 'create', revision: 'r2', count: 2 },
    ]);
  });
});
