import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceCount } from '../specfile/fleet-section.js';
import { chooseExpiring, type ExpiringFleet, expiresAt, expiryStagger, planExpiry } from './plan-expiry.js';
import { type ObservedInstance, planRollout } from './plan-rollout.js';
import { planSync } from './plan-sync.js';

const hour = 3600;
const born = 1_000_000_000;
/** Past every instance's deadline, whatever its stagger. */
const afterLifetime = born + hour * 1000 + 1;
const strategy = {
  maxSurge: '25%' as InstanceCount,
  maxUnavailable: '25%' as InstanceCount,
  minReadySeconds: 5,
};

function instance(id: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    id,
    revision: 'r1',
    state: 'running',
    createdAt: born,
    readySince: born + 2000,
    unhealthy: false,
    ...fields,
  };
}

function fleet(size: number, extra: Partial<ExpiringFleet> = {}): ExpiringFleet {
  return { revision: 'r1', size, strategy, maxLifetimeSeconds: hour, busy: false, ...extra };
}

const ids = (count: number) => Array.from({ length: count }, (_, index) => `instance-${index}`);

describe('expiresAt', () => {
  it('comes due within the last tenth of the lifetime, the same for the same id', () => {
    for (const id of ids(50)) {
      const due = expiresAt({ id, createdAt: born }, hour);

      assert.ok(due <= born + hour * 1000, id);
      assert.ok(due >= born + hour * 1000 * (1 - expiryStagger), id);
      assert.equal(expiresAt({ id, createdAt: born }, hour), due);
    }
  });

  it('spreads a fleet started at once over the stagger window rather than one instant', () => {
    const dues = ids(20).map((id) => expiresAt({ id, createdAt: born }, hour));

    assert.equal(new Set(dues).size, 20);
    // 20 draws in a 6-minute window: the spread covers most of it.
    assert.ok(Math.max(...dues) - Math.min(...dues) > hour * 1000 * expiryStagger * 0.5);
  });
});

describe('chooseExpiring', () => {
  it('chooses nothing before any instance is due, then the one due first', () => {
    const instances = ids(4).map((id) => instance(id));
    const dues = instances.map((one) => expiresAt({ id: one.id, createdAt: born }, hour));
    const first = Math.min(...dues);
    const firstId = instances[dues.indexOf(first)]?.id;

    assert.equal(chooseExpiring(fleet(4), { instances, now: first - 1 }), undefined);
    assert.equal(chooseExpiring(fleet(4), { instances, now: first })?.id, firstId);
    assert.equal(chooseExpiring(fleet(4), { instances, now: afterLifetime })?.id, firstId);
  });

  it('keeps choosing the same one while its replacement starts, and the next only once it is gone', () => {
    const instances = ids(4).map((id) => instance(id));
    const first = chooseExpiring(fleet(4), { instances, now: afterLifetime });
    const replacement = instance('replacement', { createdAt: afterLifetime, readySince: undefined });
    const whileStarting = [...instances, replacement];
    const withoutFirst = [
      ...instances.filter((one) => one.id !== first?.id),
      { ...replacement, readySince: afterLifetime },
    ];

    assert.equal(chooseExpiring(fleet(4), { instances: whileStarting, now: afterLifetime })?.id, first?.id);
    const next = chooseExpiring(fleet(4), { instances: withoutFirst, now: afterLifetime + 10_000 });
    assert.notEqual(next?.id, first?.id);
    assert.notEqual(next?.id, 'replacement');
    assert.ok(next);
  });

  it('never expires an instance while a rollout runs or the fleet is paused', () => {
    const instances = ids(4).map((id) => instance(id));

    assert.equal(chooseExpiring(fleet(4, { busy: true }), { instances, now: afterLifetime }), undefined);
  });

  it('waits while the fleet is not whole (healing or scaling up), and without a lifetime', () => {
    const instances = [...ids(3).map((id) => instance(id)), instance('new', { readySince: undefined })];

    assert.equal(chooseExpiring(fleet(4), { instances, now: afterLifetime }), undefined);
    assert.equal(
      chooseExpiring(fleet(3, { maxLifetimeSeconds: undefined }), { instances, now: afterLifetime }),
      undefined,
    );
  });

  it('leaves instances of another revision, condemned and held ones to their own paths', () => {
    const instances = [
      instance('old', { revision: 'r0' }),
      instance('condemned', { condemned: true }),
      instance('held', { held: true }),
    ];

    assert.equal(chooseExpiring(fleet(0), { instances, now: afterLifetime }), undefined);
  });
});

describe('an expiry through the rolling planner', () => {
  it('surges a replacement first and removes the expired instance only once the replacement is available', () => {
    const instances = ids(4).map((id) => instance(id));
    const expired = chooseExpiring(fleet(4), { instances, now: afterLifetime });
    const replacement = instance('replacement', { createdAt: afterLifetime, readySince: afterLifetime });
    const plan = (list: ObservedInstance[], now: number) => {
      const expiry = planExpiry(fleet(4), { instances: list, now });
      return planRollout(
        { revision: 'r1', size: 4, strategy: expiry.strategy },
        { instances: expiry.instances, now },
      );
    };

    assert.deepEqual(plan(instances, afterLifetime), [{ kind: 'create', revision: 'r1', count: 1 }]);
    assert.deepEqual(plan([...instances, replacement], afterLifetime + 1000), []);
    assert.deepEqual(plan([...instances, replacement], afterLifetime + 5000), [
      { kind: 'remove', id: expired?.id, reason: 'expired' },
    ]);
  });

  it('removes first within maxUnavailable when the strategy allows no surge', () => {
    const noSurge = { ...strategy, maxSurge: 0 as InstanceCount, maxUnavailable: 1 as InstanceCount };
    const instances = ids(4).map((id) => instance(id));
    const expiry = planExpiry(fleet(4, { strategy: noSurge }), { instances, now: afterLifetime });

    const actions = planRollout(
      { revision: 'r1', size: 4, strategy: expiry.strategy },
      { instances: expiry.instances, now: afterLifetime },
    );

    // The replacement follows at the next sync, once the room is free (as a rolling update with no surge).
    assert.deepEqual(actions, [{ kind: 'remove', id: expiry.expiring?.id, reason: 'expired' }]);
  });

  it('is left out of a sync that rolls out', () => {
    const instances = ids(2).map((id) => instance(id));

    const plan = planSync(
      { revision: 'r1', size: 2, strategy, maxLifetimeSeconds: hour, inRollout: true, paused: false },
      { instances, now: afterLifetime },
    );

    assert.deepEqual(plan, { actions: [] });
  });
});
