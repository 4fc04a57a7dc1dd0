import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceCount } from '../specfile/fleet-section.js';
import {
  assessBlueGreen,
  type BlueGreenFleet,
  failedInBake,
  isHeld,
  planBlueGreen,
} from './plan-blue-green.js';
import { isReady, type ObservedInstance } from './plan-rollout.js';
import type { ProgressInput } from './rollout-progress.js';

const now = 1_000_000;
const strategy = { maxSurge: 1 as InstanceCount, maxUnavailable: 1 as InstanceCount, minReadySeconds: 5 };

function instance(id: string, revision: string, fields: Partial<ObservedInstance> = {}): ObservedInstance {
  return { id, revision, state: 'running', readySince: now - 60_000, unhealthy: false, ...fields };
}

function fleet(extra: Partial<BlueGreenFleet> = {}): BlueGreenFleet {
  return {
    revision: 'green',
    size: 3,
    strategy,
    knownRevisions: new Set(['blue', 'green', 'stale']),
    active: 'blue',
    ...extra,
  };
}

const blues = ['b1', 'b2', 'b3'].map((id) => instance(id, 'blue'));

/** The plan of one sync, with the front door allowed to send to every ready instance. */
function plan(planned: BlueGreenFleet, instances: ObservedInstance[], at = now) {
  const result = planBlueGreen(planned, { instances, now: at }, instances.filter(isReady));
  return { actions: result.actions, serving: result.serving.map((one) => one.id).sort() };
}

function progress(extra: Partial<ProgressInput> = {}): ProgressInput {
  return {
    revision: 'green',
    size: 3,
    minReadySeconds: 5,
    progressDeadlineSeconds: 60,
    failedNew: 0,
    mark: { at: now - 10_000, newAvailable: 0, oldAlive: 3 },
    ...extra,
  };
}

describe('planBlueGreen', () => {
  it('replaces a serving instance past its lifetime while held after a failed rollout, surge first', () => {
    const old = blues.map((one) => ({ ...one, createdAt: now - 200_000 }));
    const held = fleet({ maxLifetimeSeconds: 100, inRollout: false });

    const { actions } = plan(held, [...old, instance('g1', 'green', { readySince: undefined })]);

    assert.deepEqual(
      actions.filter((action) => action.kind === 'create' && action.revision === 'blue'),
      [{ kind: 'create', revision: 'blue', count: 1 }],
    );
    assert.ok(isHeld(held));
  });

  it('replaces no serving instance for its age while a rollout, a revert or a pause is under way', () => {
    const old = blues.map((one) => ({ ...one, createdAt: now - 200_000 }));

    for (const busy of [{ inRollout: true }, { inRollout: true, reverting: true }, { paused: true }]) {
      const { actions } = plan(fleet({ maxLifetimeSeconds: 100, ...busy }), old);

      assert.deepEqual(
        actions.filter((action) => action.kind === 'create' && action.revision === 'blue'),
        [],
        JSON.stringify(busy),
      );
      assert.equal(isHeld(fleet(busy)), false);
    }
  });

  it('starts the whole new fleet at once, beyond maxSurge, and removes nothing that serves', () => {
    const { actions, serving } = plan(fleet(), blues);

    assert.deepEqual(actions, [{ kind: 'create', revision: 'green', count: 3 }]);
    assert.deepEqual(serving, ['b1', 'b2', 'b3']);
  });

  it('keeps sending only to the old fleet while the new one is partly ready, and removes none of the old', () => {
    const greens = [
      instance('g1', 'green'),
      instance('g2', 'green', { readySince: now }),
      instance('g3', 'green', { readySince: undefined }),
    ];

    const { actions, serving } = plan(fleet(), [...blues, ...greens]);

    assert.deepEqual(actions, []);
    assert.deepEqual(serving, ['b1', 'b2', 'b3']);
  });

  it('sends only to the new fleet once it is active, and keeps the old one running while it bakes', () => {
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green'));
    const switched = fleet({ active: 'green', baking: { revision: 'blue', until: now + 1 } });

    const { actions, serving } = plan(switched, [...blues, ...greens]);

    assert.deepEqual(actions, []);
    assert.deepEqual(serving, ['g1', 'g2', 'g3']);
  });

  it('removes the old fleet, drained by the caller, once the bake time is over', () => {
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green'));
    const switched = fleet({ active: 'green', baking: { revision: 'blue', until: now } });

    const { actions, serving } = plan(switched, [...blues, ...greens]);

    assert.deepEqual(
      actions
        .map((action) => (action.kind === 'remove' ? `${action.id} ${action.reason}` : action.kind))
        .sort(),
      ['b1 replaced', 'b2 replaced', 'b3 replaced'],
    );
    assert.deepEqual(serving, ['g1', 'g2', 'g3']);
  });

  it('removes the fleet a rollback or revert switched away from at once: nothing bakes', () => {
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green'));
    const rolledBack = fleet({ revision: 'blue', active: 'blue' });

    const { actions, serving } = plan(rolledBack, [...blues, ...greens]);

    assert.deepEqual(actions.map((action) => (action.kind === 'remove' ? action.id : action.kind)).sort(), [
      'g1',
      'g2',
      'g3',
    ]);
    assert.deepEqual(serving, ['b1', 'b2', 'b3']);
  });

  it('keeps the serving fleet at size before the switch: a dead old instance is replaced with the old revision', () => {
    const old = [
      instance('b1', 'blue', { state: 'exited' }),
      instance('b2', 'blue', { unhealthy: true, readySince: undefined }),
      instance('b3', 'blue'),
    ];
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green', { readySince: undefined }));

    const { actions, serving } = plan(fleet(), [...old, ...greens]);

    assert.deepEqual(actions, [
      { kind: 'remove', id: 'b1', reason: 'exited' },
      { kind: 'remove', id: 'b2', reason: 'unhealthy' },
      { kind: 'create', revision: 'blue', count: 2 },
    ]);
    assert.deepEqual(serving, ['b3']);
  });

  it('keeps the baking fleet at size too, so a rollback within the bake switches to a whole fleet', () => {
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green'));
    const old = [
      instance('b1', 'blue', { state: 'exited' }),
      instance('b2', 'blue', { unhealthy: true, readySince: undefined }),
      instance('b3', 'blue', { state: 'created', createdAt: now - 60_000, readySince: undefined }),
    ];
    const switched = fleet({ active: 'green', baking: { revision: 'blue', until: now + 60_000 } });

    const { actions, serving } = plan(switched, [...old, ...greens]);

    assert.deepEqual(actions, [
      { kind: 'remove', id: 'b1', reason: 'exited' },
      { kind: 'remove', id: 'b2', reason: 'unhealthy' },
      { kind: 'remove', id: 'b3', reason: 'unstarted' },
      { kind: 'create', revision: 'blue', count: 3 },
    ]);
    assert.deepEqual(serving, ['g1', 'g2', 'g3']);
  });

  it('replaces a quarantined serving instance surge first, and trims the serving fleet to a smaller size', () => {
    const quarantined = instance('b3', 'blue', { condemned: true, quarantined: true });
    const fourth = instance('b4', 'blue', { readySince: now - 1_000 });

    const replaced = plan(fleet(), [blues[0]!, blues[1]!, quarantined]).actions;
    const trimmed = plan(fleet(), [...blues, fourth]).actions;

    assert.deepEqual(replaced, [
      { kind: 'create', revision: 'blue', count: 1 },
      { kind: 'create', revision: 'green', count: 3 },
    ]);
    assert.deepEqual(trimmed, [
      { kind: 'remove', id: 'b4', reason: 'scale-down' },
      { kind: 'create', revision: 'green', count: 3 },
    ]);
  });

  it('does not replace what dies of the fleet a revert switches away from: that revision was found wanting', () => {
    const greens = [
      instance('g1', 'green', { state: 'exited' }),
      instance('g2', 'green'),
      instance('g3', 'green'),
    ];
    const reverting = fleet({ revision: 'blue', active: 'green', reverting: true });

    const { actions } = plan(reverting, [...blues, ...greens]);

    assert.deepEqual(actions, [{ kind: 'remove', id: 'g1', reason: 'exited' }]);
  });

  it('replaces an unhealthy instance of the new fleet before the switch, as a rolling update does', () => {
    const greens = [instance('g1', 'green', { unhealthy: true }), instance('g2', 'green')];

    const { actions } = plan(fleet(), [...blues, ...greens]);

    assert.deepEqual(actions, [
      { kind: 'remove', id: 'g1', reason: 'unhealthy' },
      { kind: 'create', revision: 'green', count: 2 },
    ]);
  });

  it('never sends to a third revision left from a bake a new rollout cut short, and removes it at once', () => {
    const stale = [instance('s1', 'stale'), instance('s2', 'stale', { readySince: undefined })];

    const { actions, serving } = plan(fleet(), [...blues, ...stale]);

    assert.deepEqual(actions, [
      { kind: 'remove', id: 's1', reason: 'replaced' },
      { kind: 'remove', id: 's2', reason: 'replaced' },
      { kind: 'create', revision: 'green', count: 3 },
    ]);
    assert.deepEqual(serving, ['b1', 'b2', 'b3']);
  });

  it('keeps an old instance that serves because the active revision has none ready, and makes the active fleet anew', () => {
    const stale = [instance('s1', 'stale')];
    const gone = fleet({ active: 'gone' });

    const { actions, serving } = plan(gone, [...stale, instance('g1', 'green', { readySince: undefined })]);

    assert.deepEqual(actions, [
      { kind: 'create', revision: 'gone', count: 3 },
      { kind: 'create', revision: 'green', count: 2 },
    ]);
    assert.deepEqual(serving, ['s1']);
  });

  it('leaves an instance of a revision never rolled out to the rolling plan, as an orphan', () => {
    const { actions } = plan(fleet(), [...blues, instance('x1', 'unknown')]);

    assert.deepEqual(actions[0], { kind: 'remove', id: 'x1', reason: 'orphan' });
  });

  it('sends to whatever is ready when the active revision has nothing ready (a first rollout)', () => {
    const greens = [instance('g1', 'green'), instance('g2', 'green', { readySince: undefined })];
    const { active: _, ...first } = fleet();

    const { actions, serving } = plan(first, greens);

    assert.deepEqual(actions, [{ kind: 'create', revision: 'green', count: 1 }]);
    assert.deepEqual(serving, ['g1']);
  });

  it('leaves a held instance out of the plan, whatever its revision', () => {
    const held = instance('b4', 'blue', { held: true, condemned: true, quarantined: true });

    const { actions } = plan(fleet(), [...blues, held]);

    assert.deepEqual(actions, [{ kind: 'create', revision: 'green', count: 3 }]);
  });
});

describe('planBlueGreen max lifetime', () => {
  const aged = [
    instance('g1', 'green', { createdAt: now - 120_000 }),
    instance('g2', 'green', { createdAt: now - 10_000 }),
    instance('g3', 'green', { createdAt: now - 10_000 }),
  ];
  const settled = fleet({ active: 'green', maxLifetimeSeconds: 60 });

  it('replaces an instance past its lifetime as a rolling fleet does: surge first, one at a time', () => {
    const replacement = instance('g4', 'green', { createdAt: now - 6_000, readySince: now - 5_000 });

    const first = plan(settled, aged).actions;
    const second = plan(settled, [...aged, replacement]).actions;

    assert.deepEqual(first, [{ kind: 'create', revision: 'green', count: 1 }]);
    assert.deepEqual(second, [{ kind: 'remove', id: 'g1', reason: 'expired' }]);
  });

  it('keeps to the strategy bounds when settled: with no surge allowed, the expired instance goes first', () => {
    const noSurge = fleet({
      active: 'green',
      maxLifetimeSeconds: 60,
      strategy: { ...strategy, maxSurge: 0 as InstanceCount },
    });

    assert.deepEqual(plan(noSurge, aged).actions, [{ kind: 'remove', id: 'g1', reason: 'expired' }]);
  });

  it('replaces no instance for its age during a rollout, during a bake, or while paused', () => {
    const bakingBlues = blues.map((one) => ({ ...one, createdAt: now - 120_000 }));
    const rollingOut = fleet({ maxLifetimeSeconds: 60, inRollout: true });
    const baking = fleet({ ...settled, baking: { revision: 'blue', until: now + 1 } });
    const paused = fleet({ ...settled, paused: true });

    assert.deepEqual(plan(rollingOut, [...bakingBlues, ...aged]).actions, []);
    assert.deepEqual(plan(baking, [...bakingBlues, ...aged]).actions, []);
    assert.deepEqual(plan(paused, aged).actions, []);
  });
});

describe('assessBlueGreen', () => {
  it('completes once size instances of the new revision are available, the old fleet still running', () => {
    const greens = ['g1', 'g2', 'g3'].map((id) => instance(id, 'green'));

    const { verdict } = assessBlueGreen(progress(), { instances: [...blues, ...greens], now });

    assert.deepEqual(verdict, { kind: 'complete' });
  });

  it('does not complete while one new instance is ready for less than minReadySeconds', () => {
    const greens = [
      instance('g1', 'green'),
      instance('g2', 'green'),
      instance('g3', 'green', { readySince: now - 4_000 }),
    ];

    const { verdict } = assessBlueGreen(progress(), { instances: [...blues, ...greens], now });

    assert.deepEqual(verdict, { kind: 'progressing' });
  });

  it('fails on a new instance that turned unhealthy, and on no progress within the deadline', () => {
    const greens = [instance('g1', 'green', { readySince: undefined })];
    const stalled = { at: now - 61_000, newAvailable: 0, oldAlive: 3 };

    const health = assessBlueGreen(progress({ failedNew: 1 }), { instances: [...blues, ...greens], now });
    const deadline = assessBlueGreen(progress({ mark: stalled }), { instances: [...blues, ...greens], now });

    assert.deepEqual(health.verdict, { kind: 'failed', reason: 'health' });
    assert.deepEqual(deadline.verdict, { kind: 'failed', reason: 'deadline' });
  });
  it('counts progress on the new fleet alone: an old instance that dies (and is replaced) is none', () => {
    const greens = [instance('g1', 'green', { readySince: undefined })];
    const stalled = { at: now - 61_000, newAvailable: 0, oldAlive: 3 };
    const oneOldGone = [blues[0]!, blues[1]!, ...greens];

    const { verdict } = assessBlueGreen(progress({ mark: stalled }), { instances: oneOldGone, now });

    assert.deepEqual(verdict, { kind: 'failed', reason: 'deadline' });
  });
});

describe('failedInBake', () => {
  const baking = fleet({ active: 'green', baking: { revision: 'blue', until: now + 1 } });
  const greens = ['g1', 'g2'].map((id) => instance(id, 'green'));

  it('is true when an instance of the active revision turns unhealthy or exits while the old fleet bakes', () => {
    const unhealthy = instance('g3', 'green', { unhealthy: true });
    const exited = instance('g3', 'green', { state: 'exited' });

    assert.equal(failedInBake(baking, { instances: [...blues, ...greens, unhealthy], now }), true);
    assert.equal(failedInBake(baking, { instances: [...blues, ...greens, exited], now }), true);
  });

  it('is false after the bake, for a failing baking instance, and for a held one', () => {
    const unhealthy = instance('g3', 'green', { unhealthy: true });
    const heldUnhealthy = instance('g3', 'green', { unhealthy: true, held: true });
    const oldUnhealthy = instance('b4', 'blue', { unhealthy: true });

    assert.equal(failedInBake(baking, { instances: [...greens, unhealthy], now: now + 1 }), false);
    assert.equal(failedInBake(baking, { instances: [...blues, ...greens, oldUnhealthy], now }), false);
    assert.equal(failedInBake(baking, { instances: [...blues, ...greens, heldUnhealthy], now }), false);
  });
});
