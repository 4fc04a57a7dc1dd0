/**
 * Two states of a blue-green fleet that are not a rollout in progress, on the MemoryEngine with a
 * fake clock: the bake after a switch, as the autoscaler sees it, and a failed rollout left
 * unreverted (autoRevert off), as max lifetime sees it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFleetSection } from '../specfile/fleet-section.js';
import { digestB, fleetHarness } from './controller.test-support.js';

const strategy = { ...defaultFleetSection.strategy, type: 'blue-green' as const, minReadySeconds: 0 };

describe('a blue-green fleet held out of a rollout', () => {
  it('autoscales on the serving fleet alone while the old one bakes: 2 at 90% of 1 CPU, target 50% → 4', async () => {
    const h = fleetHarness();
    await h.settledOnA({
      size: 2,
      strategy: { ...strategy, bakeSeconds: 600 },
      autoscale: {
        min: 2,
        max: 10,
        metrics: [{ kind: 'cpu', averageUtilization: 50 }],
        syncPeriodSeconds: 15,
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 0 },
          scaleDown: { stabilizationWindowSeconds: 300 },
        },
      },
    });
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'));
    // The serving fleet is busy; the baking one, out of traffic, idles.
    for (const one of await h.engine.list({ service: 'web' }))
      if (one.revision === 'r2') h.engine.setCpuLoad(one.id, 0.9);
    const switchedAt = h.clock.now();

    await h.runUntil(async () => h.clock.now() - switchedAt >= 31_000);

    const [decision] = h.events.flatMap((event) =>
      event.kind === 'autoscaled' && event.decision.to !== event.decision.from ? [event.decision] : [],
    );
    const metric = decision?.metrics[0];
    assert.equal(metric?.kind === 'proposal' && metric.current, 90, 'the baking instances are no samples');
    assert.equal(decision?.to, 4, 'ceil(2 × 90 / 50) = ceil(3.6) = 4');
    assert.ok((await h.controller.status('web')).bake, 'still baking');
    await h.runUntil(async () => (await h.controller.status('web')).ready >= 8, { maxSeconds: 10 });
    const live = (await h.engine.list({ service: 'web' })).filter((one) => one.state === 'running');
    assert.equal(live.filter((one) => one.revision === 'r2').length, 4);
    // The baking fleet follows the size, so that a rollback within the bake switches to a whole fleet.
    assert.equal(live.filter((one) => one.revision === 'r1').length, 4);
  });

  it('after a failed rollout not reverted, still replaces the serving instances past maxLifetimeSeconds', async () => {
    const h = fleetHarness();
    await h.settledOnA({ maxLifetimeSeconds: 120, strategy: { ...strategy, autoRevert: false } });
    const originals = new Set((await h.engine.list({ service: 'web' })).map((one) => one.id));
    h.failing.add(digestB);
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2', 'failed'));
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;

    await h.runUntil(
      async () => !(await h.engine.list({ service: 'web' })).some((one) => originals.has(one.id)),
      { maxSeconds: 400 },
    );

    const expired = h.events.flatMap((event) =>
      event.kind === 'instance-removed' && event.reason === 'expired' ? [event.id] : [],
    );
    assert.deepEqual(expired.sort(), [...originals].sort());
    const status = await h.controller.status('web');
    assert.equal(status.status, 'failed', 'held until the user acts: no new journal state');
    const serving = (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r1');
    assert.equal(serving.filter((one) => one.state === 'running').length, 4);
    assert.equal(h.frontDoor.minServing, 4, 'one at a time, surge first');
  });
});
