import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { openStateDb } from '../state/open-state-db.js';
import { FleetController } from './controller.js';
import { digestA, digestB, FakeClock, FakeFrontDoor, template } from './controller.test-support.js';

/** A fleet of 6 on a MemoryEngine of 3 nodes, every instance passing its checks. */
async function fleetOnNodes(options: { size?: number; nodes?: number } = {}) {
  const { size = 6, nodes = 3 } = options;
  const clock = new FakeClock();
  const engine = new MemoryEngine({ now: () => clock.now(), nodes });
  const frontDoor = new FakeFrontDoor();
  const controller = new FleetController({
    engine,
    db: openStateDb(':memory:'),
    clock,
    frontDoor,
    prober: { check: async () => true },
    admit: async () => {},
    imageRefFor: (service, digest) => `127.0.0.1:5001/${service}@${digest}`,
  });
  const spreadOf = async () => {
    const perNode = new Map<string, number>();
    for (const one of await engine.list({ service: 'web' }))
      if (one.state === 'running') perNode.set(one.node ?? '', (perNode.get(one.node ?? '') ?? 0) + 1);
    return Object.fromEntries([...perNode].sort());
  };
  const syncUntil = async (done: () => Promise<boolean>) => {
    for (let second = 0; second < 60; second++) {
      await controller.sync();
      if (await done()) return second;
      clock.advance(1000);
    }
    throw new Error('not done after 60 simulated seconds');
  };
  await controller.rollout('web', { revision: 'r1', digest: digestA }, { template: template({ size }) });
  await syncUntil(async () => (await controller.status('web')).status === 'complete');
  return { clock, engine, frontDoor, controller, spreadOf, syncUntil };
}

describe('FleetController on an engine of many nodes', () => {
  it('spreads a fleet evenly over the nodes', async () => {
    const { spreadOf } = await fleetOnNodes();

    assert.deepEqual(await spreadOf(), { 'node-0001': 2, 'node-0002': 2, 'node-0003': 2 });
  });

  it("replaces a lost node's instances on the nodes left, never below size − unavailable ready", async () => {
    const { engine, controller, frontDoor, spreadOf, syncUntil } = await fleetOnNodes();
    frontDoor.minServing = Number.POSITIVE_INFINITY;

    const gone = engine.failNode('node-0002');
    const seconds = await syncUntil(async () => (await controller.status('web')).ready === 6);

    assert.equal(gone.length, 2);
    assert.deepEqual(await spreadOf(), { 'node-0001': 3, 'node-0003': 3 });
    assert.ok(seconds <= 5, `ready again after ${seconds} simulated seconds`);
    // The 2 lost are an involuntary disruption; the controller removed nothing more meanwhile.
    assert.equal(frontDoor.minServing, 4);
    const listed = await engine.list({ service: 'web' });
    assert.ok(listed.every((one) => !gone.includes(one.id) && one.node !== 'node-0002'));
  });

  it('leaves the nodes even after a rollout that also scales down, removing from the most crowded node first', async () => {
    const { engine, controller, spreadOf, syncUntil } = await fleetOnNodes({ size: 9 });
    // Uneven on the way in: a node lost (its 3 made again on the other two) and back, then 3 more.
    engine.failNode('node-0001');
    await syncUntil(async () => (await controller.status('web')).ready === 9);
    engine.restoreNode('node-0001');
    await controller.scale('web', 12);
    await syncUntil(async () => (await controller.status('web')).ready === 12);
    const before = await spreadOf();

    await controller.rollout('web', { revision: 'r2', digest: digestB }, { template: template({ size: 9 }) });
    await syncUntil(async () => {
      const status = await controller.status('web');
      return status.status === 'complete' && status.instances.length === 9;
    });

    assert.deepEqual(before, { 'node-0001': 3, 'node-0002': 5, 'node-0003': 4 });
    assert.deepEqual(await spreadOf(), { 'node-0001': 3, 'node-0002': 3, 'node-0003': 3 });
  });

  it('scales down from the most crowded node first, keeping the nodes even', async () => {
    const { engine, controller, spreadOf, syncUntil } = await fleetOnNodes({ size: 6 });
    engine.failNode('node-0003');
    await syncUntil(async () => (await controller.status('web')).ready === 6);
    engine.restoreNode('node-0003');
    await controller.scale('web', 9);
    await syncUntil(async () => (await controller.status('web')).ready === 9);
    const grown = await spreadOf();

    await controller.scale('web', 6);
    await syncUntil(async () => (await controller.status('web')).instances.length === 6);

    // The 3 made on the node that came back are the newest: by age alone, all 3 would go.
    assert.deepEqual(grown, { 'node-0001': 3, 'node-0002': 3, 'node-0003': 3 });
    assert.deepEqual(await spreadOf(), { 'node-0001': 2, 'node-0002': 2, 'node-0003': 2 });
  });
});
