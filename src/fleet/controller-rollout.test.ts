import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestA, digestB, digestC, fleetHarness, template } from './controller.test-support.js';
import type { FleetError } from './errors.js';

describe('FleetController rollouts', () => {
  it('rolls out a new revision with at most size + maxSurge instances and at least size − maxUnavailable ready', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.engine.resetPeak();
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    let mostRunning = 0;
    let fewestReady = Number.POSITIVE_INFINITY;

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), {
      watch: async () => {
        const status = await h.controller.status('web');
        mostRunning = Math.max(mostRunning, h.engine.running);
        fewestReady = Math.min(fewestReady, status.ready);
      },
    });

    const instances = await h.engine.list({ service: 'web' });
    assert.deepEqual(
      instances.map((one) => one.revision),
      ['r2', 'r2', 'r2', 'r2'],
    );
    // size 4, 25%/25%: surge 1, unavailable 1.
    assert.ok(h.engine.peakRunning <= 5, `peak ${h.engine.peakRunning}`);
    assert.ok(mostRunning <= 5);
    assert.ok(fewestReady >= 3, `fewest ready ${fewestReady}`);
    assert.ok(h.frontDoor.minServing >= 3, `front door served by ${h.frontDoor.minServing}`);
    assert.equal(h.frontDoor.drained.length, 4);
    assert.deepEqual(
      h.controller.history('web').map((entry) => `${entry.revision} ${entry.outcome}`),
      ['r1 started', 'r1 complete', 'r2 started', 'r2 complete'],
    );
  });

  it('reverts a revision whose health never passes, while the old revision keeps serving', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    h.failing.add(digestB);

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r1'));

    const instances = await h.engine.list({ service: 'web' });
    assert.deepEqual(
      instances.map((one) => one.revision),
      ['r1', 'r1', 'r1', 'r1'],
    );
    assert.ok(h.frontDoor.minServing >= 3);
    assert.deepEqual(
      h.controller.history('web').map((entry) => `${entry.revision} ${entry.outcome} ${entry.reason}`),
      [
        'r1 started rollout',
        'r1 complete rollout',
        'r2 started rollout',
        'r2 failed health',
        'r1 started revert',
        'r1 complete rollout',
      ],
    );
    assert.ok(h.events.some((event) => event.kind === 'rollout-failed' && event.reason === 'health'));
  });

  it('fails a rollout that makes no progress within progressDeadlineSeconds, and reverts it', async () => {
    const h = fleetHarness();
    await h.settledOnA({ health: { failureThreshold: 100 } });
    h.failing.add(digestB);

    // Checks every 2 s, unhealthy after 100 failures: the 120 s deadline comes first.
    await h.controller.rollout(
      'web',
      { revision: 'r2', digest: digestB },
      {
        template: template({ health: { failureThreshold: 100 } }, 2),
      },
    );
    const seconds = await h.runUntil(() => h.statusIs('r1', 'reverting'));

    assert.ok(seconds > 120 && seconds < 125, `failed after ${seconds} s`);
    assert.equal(h.controller.history('web').at(-2)?.reason, 'deadline');
  });

  it('goes back to the previous good revision on rollback', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'));

    const target = await h.controller.rollback('web');
    await h.runUntil(() => h.statusIs('r1'));

    assert.equal(target.revision, 'r1');
    const instances = await h.engine.list({ service: 'web' });
    assert.ok(instances.length === 4 && instances.every((one) => one.digest === digestA));
    assert.equal(h.controller.history('web').at(-2)?.reason, 'rollback');
  });

  it('refuses a rollback when no earlier revision completed', async () => {
    const h = fleetHarness();
    await h.settledOnA();

    await assert.rejects(
      () => h.controller.rollback('web'),
      (error: FleetError) => error.code === 'NO_PREVIOUS_REVISION',
    );
  });

  it('refuses a digest that admission refuses and leaves the fleet as it was', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.refused.add(digestC);

    await assert.rejects(() => h.controller.rollout('web', { revision: 'r3', digest: digestC }), /revoked/);
    await h.controller.sync();

    const status = await h.controller.status('web');
    assert.equal(status.revision, 'r1');
    assert.equal(status.status, 'complete');
    assert.equal(h.controller.history('web').length, 2);
  });

  it('needs a template for the first rollout of a service', async () => {
    const h = fleetHarness();

    await assert.rejects(
      () => h.controller.rollout('web', { revision: 'r1', digest: digestA }),
      (error: FleetError) => error.code === 'TEMPLATE_MISSING',
    );
  });

  it('scales up and down, draining the instances it removes', async () => {
    const h = fleetHarness();
    await h.settledOnA();

    await h.controller.scale('web', 7);
    await h.runUntil(async () => (await h.controller.status('web')).available === 7);
    await h.controller.scale('web', 2);
    await h.controller.sync();

    assert.equal(h.engine.running, 2);
    assert.equal(h.frontDoor.drained.length, 5);
    assert.equal(h.frontDoor.backends.length, 2);
    assert.ok(h.events.some((event) => event.kind === 'scaled' && event.to === 2));
  });
});
