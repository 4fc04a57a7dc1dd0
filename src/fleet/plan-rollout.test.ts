import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceState } from '../engines/engine.js';
import type { InstanceCount } from '../specfile/fleet-section.js';
import {
  isAlive,
  isAvailable,
  isReady,
  type ObservedInstance,
  type PlannedFleet,
  planRollout,
  type RolloutAction,
  unstartedGraceMs,
} from './plan-rollout.js';
import { resolveBounds } from './rollout-arithmetic.js';
import { between, pick, seededRandom } from './seeded-random.test-support.js';

const now = 1_000_000;
const strategy = { maxSurge: 1 as InstanceCount, maxUnavailable: 1 as InstanceCount, minReadySeconds: 5 };

function instance(id: string, revision: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return { id, revision, state: 'running', readySince: now - 60_000, unhealthy: false, ...fields };
}

function fleet(revision: string, size: number, extra: Partial<PlannedFleet> = {}): PlannedFleet {
  return { revision, size, strategy, ...extra };
}

describe('planRollout', () => {
  it('replaces a condemned instance pristine-first: a surge create, and the removal only once the budget allows', () => {
    const surgeOnly = { ...strategy, maxUnavailable: 0 as InstanceCount };
    const before = [instance('a', 'r1', { condemned: true }), instance('b', 'r1')];
    const after = [...before, instance('c', 'r1')];

    assert.deepEqual(planRollout(fleet('r1', 2, { strategy: surgeOnly }), { instances: before, now }), [
      { kind: 'create', revision: 'r1', count: 1 },
    ]);
    assert.deepEqual(planRollout(fleet('r1', 2, { strategy: surgeOnly }), { instances: after, now }), [
      { kind: 'remove', id: 'a', reason: 'condemned' },
    ]);
  });

  it('keeps a quarantined instance (it serves nothing) until its replacement is ready, then removes it without budget', () => {
    const surgeOnly = { ...strategy, maxUnavailable: 0 as InstanceCount, minReadySeconds: 60 };
    const planned = fleet('r1', 2, { strategy: surgeOnly });
    const quarantined = instance('a', 'r1', { condemned: true, quarantined: true });
    const starting = instance('c', 'r1', { readySince: undefined });

    assert.deepEqual(planRollout(planned, { instances: [quarantined, instance('b', 'r1')], now }), [
      { kind: 'create', revision: 'r1', count: 1 },
    ]);
    assert.deepEqual(
      planRollout(planned, { instances: [quarantined, instance('b', 'r1'), starting], now }),
      [],
    );
    assert.deepEqual(
      planRollout(planned, {
        instances: [quarantined, instance('b', 'r1'), { ...starting, readySince: now }],
        now,
      }),
      [{ kind: 'remove', id: 'a', reason: 'condemned' }],
    );
  });

  it('removes a quarantined instance at once when it stands in the way of its replacement', () => {
    const noSurge = { ...strategy, maxSurge: 0 as InstanceCount, maxUnavailable: 1 as InstanceCount };
    const instances = [instance('a', 'r1', { condemned: true, quarantined: true }), instance('b', 'r1')];

    assert.deepEqual(planRollout(fleet('r1', 2, { strategy: noSurge }), { instances, now }), [
      { kind: 'remove', id: 'a', reason: 'condemned' },
      { kind: 'create', revision: 'r1', count: 1 },
    ]);
  });

  it('counts a quarantined instance neither ready nor available, and leaves a held one out of the plan', () => {
    const quarantined = instance('a', 'r1', { condemned: true, quarantined: true });
    const held = instance('h', 'r1', { condemned: true, quarantined: true, held: true });

    assert.equal(isReady(quarantined), false);
    assert.equal(isAvailable(quarantined, 0, now), false);
    assert.deepEqual(planRollout(fleet('r1', 1), { instances: [held, instance('b', 'r1')], now }), []);
  });

  it('leaves an instance that is still starting alone, and replaces one left unstarted past the grace', () => {
    const unstarted = (age: number) =>
      instance('c', 'r1', { state: 'created', createdAt: now - age, readySince: undefined });
    const ready = [instance('a', 'r1'), instance('b', 'r1')];

    assert.deepEqual(planRollout(fleet('r1', 3), { instances: [...ready, unstarted(2_000)], now }), []);
    assert.deepEqual(
      planRollout(fleet('r1', 3), { instances: [...ready, unstarted(unstartedGraceMs)], now }),
      [
        { kind: 'remove', id: 'c', reason: 'unstarted' },
        { kind: 'create', revision: 'r1', count: 1 },
      ],
    );
  });

  it('does nothing when the fleet is as desired', () => {
    const instances = [instance('a', 'r2'), instance('b', 'r2')];

    assert.deepEqual(planRollout(fleet('r2', 2), { instances, now }), []);
  });

  it('scales the new revision up first, then removes one old instance within the bounds', () => {
    const instances = ['a', 'b', 'c', 'd'].map((id) => instance(id, 'r1'));

    const actions = planRollout(fleet('r2', 4), { instances, now });

    assert.deepEqual(actions, [
      { kind: 'create', revision: 'r2', count: 1 },
      { kind: 'remove', id: 'a', reason: 'replaced' },
    ]);
  });

  it('removes unhealthy old instances before healthy ones, without spending the budget', () => {
    const instances = [
      instance('a', 'r1'),
      instance('b', 'r1', { unhealthy: true }),
      instance('c', 'r1'),
      instance('d', 'r1'),
    ];

    const actions = planRollout(fleet('r2', 4), { instances, now });

    assert.deepEqual(actions, [
      { kind: 'remove', id: 'b', reason: 'unhealthy' },
      { kind: 'create', revision: 'r2', count: 2 },
    ]);
  });

  it('replaces a crashed instance when no rollout is in progress', () => {
    const instances = [instance('a', 'r1'), instance('b', 'r1', { state: 'exited' })];

    assert.deepEqual(planRollout(fleet('r1', 2), { instances, now }), [
      { kind: 'remove', id: 'b', reason: 'exited' },
      { kind: 'create', revision: 'r1', count: 1 },
    ]);
  });

  it('scales down unready instances first, then the most recently ready', () => {
    const instances = [
      instance('a', 'r1', { readySince: now - 100_000 }),
      instance('b', 'r1', { readySince: now - 10_000 }),
      instance('c', 'r1', { readySince: undefined }),
      instance('d', 'r1', { readySince: now - 50_000 }),
    ];

    const actions = planRollout(fleet('r1', 1), { instances, now });

    assert.deepEqual(
      actions.map((action) => action.kind === 'remove' && action.id),
      ['c', 'b', 'd'],
    );
  });

  it('removes instances of a revision the fleet never had at once', () => {
    const instances = [instance('a', 'r1'), instance('b', 'r1'), instance('x', 'stranger')];

    const actions = planRollout(fleet('r1', 2, { knownRevisions: new Set(['r1']) }), { instances, now });

    assert.deepEqual(actions, [{ kind: 'remove', id: 'x', reason: 'orphan' }]);
  });

  it('waits for minReadySeconds before it counts a new instance as available', () => {
    const instances = [
      instance('a', 'r1'),
      instance('b', 'r1'),
      instance('n1', 'r2', { readySince: now - 4_000 }),
    ];
    const size2 = fleet('r2', 2, { strategy: { ...strategy, maxUnavailable: 0 } });

    assert.deepEqual(planRollout(size2, { instances, now }), []);
    assert.deepEqual(planRollout(size2, { instances, now: now + 1_000 }), [
      { kind: 'remove', id: 'a', reason: 'replaced' },
    ]);
  });
});

/** A random but plausible observation: any mix of revisions, states, readiness and health. */
function randomCase(random: () => number) {
  const size = between(random, 0, 12);
  const count = () =>
    random() < 0.5 ? between(random, 0, 3) : (`${pick(random, [0, 10, 25, 50, 100])}%` as const);
  const planned: PlannedFleet = {
    revision: 'new',
    size,
    strategy: { maxSurge: count(), maxUnavailable: count(), minReadySeconds: between(random, 0, 10) },
    knownRevisions: new Set(['new', 'old', 'older']),
  };
  const states: InstanceState[] = [
    'running',
    'running',
    'running',
    'created',
    'exited',
    'removing',
    'unknown',
  ];
  const instances = Array.from({ length: between(random, 0, size + 6) }, (_, index) =>
    instance(`i${String(index).padStart(2, '0')}`, pick(random, ['new', 'new', 'old', 'older', 'stray']), {
      state: pick(random, states),
      readySince: random() < 0.7 ? now - between(random, 0, 20) * 1000 : undefined,
      unhealthy: random() < 0.1,
    }),
  );
  return { planned, instances };
}

function apply(instances: readonly ObservedInstance[], actions: RolloutAction[], revision: string) {
  const removed = new Set(actions.flatMap((action) => (action.kind === 'remove' ? [action.id] : [])));
  const created = actions.flatMap((action) =>
    action.kind === 'create'
      ? Array.from({ length: action.count }, (_, index) =>
          instance(`new-${index}`, revision, { readySince: undefined }),
        )
      : [],
  );
  return [...instances.filter((instance) => !removed.has(instance.id)), ...created];
}

describe('planRollout over 5000 random states', () => {
  it('never creates past size + surge, nor removes available or ready instances below size − unavailable', () => {
    const random = seededRandom(20240605);
    for (let round = 0; round < 5000; round++) {
      const { planned, instances } = randomCase(random);
      const bounds = resolveBounds(planned.size, planned.strategy);
      // Orphans (revision "stray") are not the fleet's: they go at once and count for nothing.
      const available = (list: readonly ObservedInstance[]) =>
        list.filter(
          (one) => one.revision !== 'stray' && isAvailable(one, planned.strategy.minReadySeconds, now),
        ).length;
      const alive = (list: readonly ObservedInstance[]) => list.filter(isAlive).length;
      const ready = (list: readonly ObservedInstance[]) =>
        list.filter((one) => one.revision !== 'stray' && isReady(one)).length;

      const actions = planRollout(planned, { instances, now });
      const after = apply(instances, actions, planned.revision);

      const context = JSON.stringify({
        round,
        planned: { ...planned, knownRevisions: undefined },
        instances,
        actions,
      });
      const creates = actions.filter((action) => action.kind === 'create');
      const removals = actions.filter((action) => action.kind === 'remove').map((action) => action.id);
      assert.ok(creates.length <= 1 && creates.every((action) => action.count > 0), context);
      assert.equal(new Set(removals).size, removals.length, context);
      assert.ok(
        removals.every((id) => instances.some((one) => one.id === id && one.state !== 'removing')),
        context,
      );
      if (creates.length > 0) assert.ok(alive(after) <= bounds.maxTotal, context);
      assert.ok(alive(after) <= Math.max(bounds.maxTotal, alive(instances)), context);
      assert.ok(available(after) >= Math.min(bounds.minAvailable, available(instances)), context);
      assert.ok(ready(after) >= Math.min(bounds.minAvailable, ready(instances)), context);
    }
  });

  it('completes every rollout with exactly size available instances of the new revision, within bounds at each step', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 300; round++) {
      const { planned } = randomCase(random);
      const bounds = resolveBounds(planned.size, planned.strategy);
      let clock = now;
      let nextId = 0;
      // A settled fleet of the old revision, at a size that may differ from the new one.
      let instances: ObservedInstance[] = Array.from({ length: between(random, 0, 8) }, () =>
        instance(`o${nextId++}`, 'old', { readySince: clock - 60_000 }),
      );
      const availableAtStart = instances.length;
      const minReadyMs = planned.strategy.minReadySeconds * 1000;

      let steps = 0;
      for (; steps < 400; steps++) {
        const actions = planRollout(planned, { instances, now: clock });
        if (actions.length === 0 && instances.every((one) => one.revision === 'new')) break;
        instances = apply(instances, actions, 'new').map((one) =>
          one.id.startsWith('new-') ? { ...one, id: `n${nextId++}` } : one,
        );
        const alive = instances.filter(isAlive).length;
        const available = instances.filter((one) =>
          isAvailable(one, planned.strategy.minReadySeconds, clock),
        ).length;
        assert.ok(
          alive <= Math.max(bounds.maxTotal, availableAtStart),
          `round ${round} step ${steps}: ${alive} alive`,
        );
        assert.ok(
          available >= Math.min(bounds.minAvailable, availableAtStart),
          `round ${round} step ${steps}`,
        );
        clock += 1000;
        // Instances start at random and then pass every check.
        instances = instances.map((one) =>
          one.readySince === undefined && random() < 0.5
            ? { ...one, readySince: clock - minReadyMs * random() }
            : one,
        );
      }

      assert.ok(steps < 400, `round ${round} never converged`);
      assert.equal(instances.length, planned.size, `round ${round}`);
      assert.ok(instances.every((one) => one.revision === 'new'));
    }
  });
});
