import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestB, fleetHarness, template } from './controller.test-support.js';
import type { FleetEvent } from './types.js';

/** Syncs once a simulated second for `seconds`. */
async function runFor(h: ReturnType<typeof fleetHarness>, seconds: number) {
  for (let second = 0; second < seconds; second++) {
    await h.controller.sync();
    h.clock.advance(1000);
  }
}

const removedFor = (events: readonly FleetEvent[], reason: string) =>
  events.filter((event) => event.kind === 'instance-removed' && event.reason === reason);

describe('FleetController max lifetime', () => {
  it('replaces every instance past maxLifetimeSeconds one at a time, surge first, never serving fewer than size', async () => {
    const h = fleetHarness();
    await h.settledOnA({ maxLifetimeSeconds: 60 });
    const originals = new Set((await h.engine.list({ service: 'web' })).map((one) => one.id));
    h.engine.resetPeak();
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    let fewestAvailable = Number.POSITIVE_INFINITY;

    await h.runUntil(
      async () => !(await h.engine.list({ service: 'web' })).some((one) => originals.has(one.id)),
      {
        maxSeconds: 300,
        watch: async () => {
          fewestAvailable = Math.min(fewestAvailable, (await h.controller.status('web')).available);
        },
      },
    );

    // size 4 and a surge of 1: one expiry at a time, each removed only once its replacement is available.
    assert.equal(h.engine.peakRunning, 5);
    assert.equal(fewestAvailable, 4);
    assert.equal(h.frontDoor.minServing, 4);
    assert.deepEqual(
      removedFor(h.events, 'expired')
        .map((event) => event.kind === 'instance-removed' && event.id)
        .sort(),
      [...originals].sort(),
    );
    assert.equal((await h.controller.status('web')).ready, 4);
  });

  it('replaces no instance for its age while a rollout is paused', async () => {
    const h = fleetHarness();
    await h.settledOnA({ maxLifetimeSeconds: 60 });
    await h.controller.pause('web', { actor: 'local:ops' });

    await runFor(h, 120);

    assert.deepEqual(removedFor(h.events, 'expired'), []);
  });
});

describe('FleetController recreate strategy', () => {
  it('removes every old instance before the first new one is made', async () => {
    const h = fleetHarness();
    await h.settledOnA({ strategy: { ...template().fleet.strategy, type: 'recreate' } });
    let overlapped = false;

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), {
      watch: async () => {
        const revisions = new Set((await h.engine.list({ service: 'web' })).map((one) => one.revision));
        if (revisions.has('r1') && revisions.has('r2')) overlapped = true;
      },
    });

    assert.equal(overlapped, false);
    assert.equal(removedFor(h.events, 'replaced').length, 4);
    assert.deepEqual(
      (await h.engine.list({ service: 'web' })).map((one) => one.revision),
      ['r2', 'r2', 'r2', 'r2'],
    );
  });
});

describe('FleetController pause and resume', () => {
  it('holds a rollout past its deadline while paused, still scaling and healing, and finishes it after resume', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.controller.sync();
    await h.controller.sync();
    const before = (await h.engine.list({ service: 'web' })).map((one) => one.revision).sort();

    assert.equal(await h.controller.pause('web', { actor: 'local:ops' }), true);
    assert.equal(await h.controller.pause('web', { actor: 'local:ops' }), false);
    // Twice the progress deadline (120 s): a rollout that was timed would have failed.
    await runFor(h, 240);
    const held = (await h.engine.list({ service: 'web' })).map((one) => one.revision).sort();
    const paused = await h.controller.status('web');
    await h.controller.scale('web', 6);
    await h.runUntil(async () => (await h.controller.status('web')).ready === 6, { maxSeconds: 30 });
    const [victim] = (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r1');
    h.engine.crash(victim?.id ?? '', 137);
    await h.runUntil(async () => (await h.controller.status('web')).ready === 6, { maxSeconds: 30 });
    const oldLeft = (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r1').length;

    assert.deepEqual(held, before);
    assert.equal(paused.status, 'progressing');
    assert.deepEqual(paused.paused?.actor, 'local:ops');
    assert.ok(oldLeft > 0, 'the paused rollout replaced every old instance');
    assert.equal(await h.controller.resume('web', { actor: 'local:ops' }), true);
    await h.runUntil(() => h.statusIs('r2'), { maxSeconds: 120 });
    assert.equal((await h.controller.status('web')).paused, undefined);
    assert.deepEqual(
      h.events.flatMap((event) =>
        event.kind === 'paused' || event.kind === 'resumed' ? [`${event.kind} ${event.actor}`] : [],
      ),
      ['paused local:ops', 'resumed local:ops'],
    );
  });

  it('stays paused across a restart of the control plane', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.controller.pause('web', { actor: 'local:ops' });
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });

    h.restart();
    await runFor(h, 30);

    const status = await h.controller.status('web');
    assert.equal(status.paused?.actor, 'local:ops');
    assert.deepEqual(
      (await h.engine.list({ service: 'web' })).map((one) => one.revision),
      ['r1', 'r1', 'r1', 'r1'],
    );
    assert.equal(status.status, 'progressing');
  });

  it('refuses to pause a fleet that does not exist', async () => {
    const h = fleetHarness();

    await assert.rejects(h.controller.pause('nope', { actor: 'local:ops' }), { code: 'FLEET_NOT_FOUND' });
  });
});
