import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Engine } from '../engines/engine.js';
import { digestA, digestB, fleetHarness } from './controller.test-support.js';

describe('FleetController after a crash of its own', () => {
  it('finishes a rollout begun by a controller that died, with no duplicates and within bounds', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.engine.resetPeak();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    for (let second = 0; second < 8; second++) {
      await h.controller.sync();
      h.clock.advance(1000);
    }
    const midway = (await h.engine.list({ service: 'web' })).map((one) => one.revision).sort();

    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    h.restart();
    await h.runUntil(() => h.statusIs('r2'));

    assert.ok(h.frontDoor.minServing >= 3, `served by ${h.frontDoor.minServing} after the restart`);
    assert.ok(midway.includes('r1') && midway.includes('r2'), `midway: ${midway}`);
    const instances = await h.engine.list({ service: 'web' });
    assert.equal(instances.length, 4);
    assert.ok(instances.every((one) => one.revision === 'r2'));
    assert.ok(h.engine.peakRunning <= 5, `peak ${h.engine.peakRunning}`);
  });

  it('adopts instances a dying controller created but never heard back about', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.engine.resetPeak();
    // The engine creates the instance, then the controller dies before create() returns.
    const dying: Engine = Object.create(h.engine);
    dying.create = async (spec) => {
      await h.engine.create(spec);
      return new Promise(() => {});
    };
    h.restart({ engine: dying });
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    void h.controller.sync();
    await new Promise((resolve) => setImmediate(resolve));
    const created = (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r2').length;

    h.frontDoor.minServing = Number.POSITIVE_INFINITY;
    h.restart();
    await h.runUntil(() => h.statusIs('r2'));

    assert.ok(h.frontDoor.minServing >= 3, `served by ${h.frontDoor.minServing} after the restart`);
    assert.equal(created, 1);
    assert.equal((await h.engine.list({ service: 'web' })).length, 4);
    assert.ok(h.engine.peakRunning <= 5, `peak ${h.engine.peakRunning}`);
  });

  it('replaces an instance a dying controller created but never started, and finishes the rollout', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    // Killed between the engine's create and its start: the instance stays `created` for good.
    const dying: Engine = Object.create(h.engine);
    dying.create = async (spec) => {
      const made = await h.engine.create(spec);
      h.engine.leaveUnstarted(made.id);
      return new Promise(() => {});
    };
    h.restart({ engine: dying });
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    void h.controller.sync();
    await new Promise((resolve) => setImmediate(resolve));
    const [unstarted] = (await h.engine.list({ service: 'web' })).filter((one) => one.state === 'created');

    h.restart();
    await h.runUntil(() => h.statusIs('r2'));

    const instances = await h.engine.list({ service: 'web' });
    assert.ok(unstarted, 'the dying controller left an unstarted instance');
    assert.ok(!instances.some((one) => one.id === unstarted.id), 'the unstarted instance is gone');
    assert.equal(instances.length, 4);
    assert.ok(instances.every((one) => one.revision === 'r2' && one.state === 'running'));
  });

  it('reverts after a restart when the rollout it finds has failed', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    h.failing.add(digestB);
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.controller.sync();

    h.restart();
    await h.runUntil(() => h.statusIs('r1'));

    const instances = await h.engine.list({ service: 'web' });
    assert.ok(instances.length === 4 && instances.every((one) => one.digest === digestA));
  });

  it('removes instances of the service whose revision it never rolled out', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.engine.ensureImage({ imageRef: 'stray', digest: digestB });
    const stray = await h.engine.create({
      service: 'web',
      revision: 'stray',
      digest: digestB,
      imageRef: 'stray',
      user: { uid: 65532, gid: 65532 },
      env: {},
      writable: [],
      resources: { memoryBytes: 1 << 28, nanoCpus: 1e9, pids: 64 },
      stopGraceSeconds: 1,
    });

    h.restart();
    await h.controller.sync();

    const ids = (await h.engine.list({ service: 'web' })).map((one) => one.id);
    assert.ok(!ids.includes(stray.id));
    assert.equal(ids.length, 4);
    assert.ok(h.events.some((event) => event.kind === 'instance-removed' && event.reason === 'orphan'));
  });
});
