import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { digestA, fleetHarness, template } from './controller.test-support.js';

describe('FleetController self-healing', () => {
  it('replaces a crashed instance after the first backoff second', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [victim] = await h.engine.list({ service: 'web' });

    h.engine.crash(victim?.id ?? '', 137);
    await h.controller.sync();
    const justAfter = h.engine.running;
    h.clock.advance(1000);
    await h.controller.sync();

    assert.equal(justAfter, 3);
    assert.equal(h.engine.running, 4);
    const ids = (await h.engine.list({ service: 'web' })).map((one) => one.id);
    assert.ok(!ids.includes(victim?.id ?? ''));
  });

  it('replaces an instance removed behind its back at once, on the engine event', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [victim] = await h.engine.list({ service: 'web' });
    h.controller.start();
    await h.controller.whenIdle();

    h.engine.kill(victim?.id ?? '');
    for (let turn = 0; turn < 100 && h.engine.running < 4; turn++) await nextTurn();
    await h.controller.stop();

    assert.equal(h.engine.running, 4);
  });

  it('replaces an instance that fails failureThreshold checks in a row', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [victim] = await h.engine.list({ service: 'web' });
    const port = victim?.address?.port;
    // A controller whose prober fails only the victim.
    h.restart({ prober: { check: async (address) => address.port !== port } });

    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim?.id), {
      maxSeconds: 10,
    });
    await h.runUntil(async () => (await h.controller.status('web')).ready === 4, { maxSeconds: 10 });

    assert.equal(h.engine.running, 4);
  });

  it('backs off a crash loop exponentially and marks the fleet degraded, without a hot loop', async () => {
    const h = fleetHarness();
    h.engine.failImage(digestA, 'exit');
    await h.controller.rollout('web', { revision: 'r1', digest: digestA }, { template: template() });
    const createdAt: number[] = [];
    const start = h.clock.now();

    await assert.rejects(() =>
      h.runUntil(() => false, {
        maxSeconds: 600,
        watch: async () => {
          for (const event of h.events.splice(0))
            if (event.kind === 'instance-created') createdAt.push(h.clock.now());
        },
      }),
    );

    const status = await h.controller.status('web');
    assert.equal(status.degraded, true);
    assert.equal(status.status, 'failed');
    // 4 at a time: at 0 s and 1 s, then 60 s apart at most once the wait is capped: 4 × 12, not 4 × 600.
    assert.ok(createdAt.length <= 4 * 12, `${createdAt.length} creates in 10 simulated minutes`);
    const lastFiveMinutes = createdAt.filter((at) => at >= start + 300_000).length;
    assert.ok(lastFiveMinutes <= 4 * 5, `${lastFiveMinutes} creates in the last 5 minutes`);
    assert.ok(lastFiveMinutes > 0, 'it keeps trying, slowly');
  });

  it('recovers from degraded once the image starts again', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.engine.failImage(digestA, 'exit');
    for (const one of await h.engine.list({ service: 'web' })) h.engine.crash(one.id, 1);
    await h.runUntil(async () => (await h.controller.status('web')).degraded, { maxSeconds: 30 });

    h.engine.clearImageFailure(digestA);
    await h.runUntil(async () => (await h.controller.status('web')).available === 4, { maxSeconds: 200 });

    assert.equal(h.engine.running, 4);
  });
});
