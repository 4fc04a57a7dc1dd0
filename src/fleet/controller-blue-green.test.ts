import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFleetSection } from '../specfile/fleet-section.js';
import { digestA, digestB, digestC, FakeFrontDoor, fleetHarness } from './controller.test-support.js';
import type { InstanceAddress } from './types.js';

const bakeSeconds = 60;
const blueGreen = { strategy: { ...defaultFleetSection.strategy, type: 'blue-green' as const, bakeSeconds } };

/** Every list the controller gave the front door, in order. */
class RecordingFrontDoor extends FakeFrontDoor {
  lists: InstanceAddress[][] = [];

  override setBackends(service: string, addresses: readonly InstanceAddress[]): void {
    super.setBackends(service, addresses);
    this.lists.push([...addresses]);
  }
}

/** A blue-green fleet of 4 settled on r1 (digest A), whose front door and instances' revisions are recorded. */
async function settledBlueGreen(fleet: Partial<typeof defaultFleetSection> = {}) {
  const door = new RecordingFrontDoor();
  const h = fleetHarness({ frontDoor: door });
  const revisionOfPort = new Map<number, string>();
  const noteRevisions = async () => {
    for (const one of await h.engine.list())
      if (one.address) revisionOfPort.set(one.address.port, one.revision);
  };
  await h.settledOnA({ ...blueGreen, ...fleet });
  await noteRevisions();
  /** The revisions of each list the front door got since `from`, e.g. `r1 r1 r1 r1`. */
  const listsSince = (from: number) =>
    door.lists.slice(from).map((list) =>
      list
        .map((address) => revisionOfPort.get(address.port) ?? '?')
        .sort()
        .join(' '),
    );
  const revisions = async () =>
    (await h.engine.list({ service: 'web' }))
      .map((one) => one.revision)
      .sort()
      .join(' ');
  return { h, door, noteRevisions, listsSince, revisions };
}

/** The revisions of the service's live instances (not exited), e.g. `r1 r1 r2`. */
async function liveRevisions(h: ReturnType<typeof fleetHarness>) {
  return (await h.engine.list({ service: 'web' }))
    .filter((one) => one.state !== 'exited')
    .map((one) => one.revision)
    .sort()
    .join(' ');
}

describe('FleetController blue-green rollouts', () => {
  it('starts the whole new fleet out of traffic, then switches the front door to it in one list', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    const from = door.lists.length;

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    await h.controller.sync();

    const lists = [...new Set(listsSince(from))];
    assert.deepEqual(lists, ['r1 r1 r1 r1', 'r2 r2 r2 r2']);
    assert.equal(await revisions(), 'r1 r1 r1 r1 r2 r2 r2 r2');
    assert.ok(h.engine.peakRunning <= 8, `peak ${h.engine.peakRunning}`);
    assert.deepEqual(
      h.controller.history('web').map((entry) => `${entry.revision} ${entry.outcome}`),
      ['r1 started', 'r1 complete', 'r2 started', 'r2 complete'],
    );
  });

  it('keeps the old fleet running out of traffic for the bake time, then drains and removes it', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const switchedAt = h.clock.now();
    const from = door.lists.length;
    const status = await h.controller.status('web');

    await h.runUntil(async () => h.clock.now() - switchedAt >= (bakeSeconds - 1) * 1000);
    const baking = await revisions();
    await h.runUntil(async () => (await revisions()) === 'r2 r2 r2 r2', { maxSeconds: 5 });

    assert.deepEqual(status.bake, {
      revision: 'r1',
      until: new Date(switchedAt + bakeSeconds * 1000).toISOString(),
    });
    assert.deepEqual(
      status.instances.filter((one) => one.serving).map((one) => one.revision),
      ['r2', 'r2', 'r2', 'r2'],
    );
    assert.equal(baking, 'r1 r1 r1 r1 r2 r2 r2 r2');
    assert.deepEqual([...new Set(listsSince(from))], ['r2 r2 r2 r2']);
    assert.equal(door.drained.length, 4);
    assert.equal((await h.controller.status('web')).bake, undefined);
  });

  it('switches back to the old fleet within one sync on a rollback inside the bake time, and removes the new one', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    h.clock.advance(10_000);
    await h.controller.sync();
    const from = door.lists.length;

    await h.controller.rollback('web');
    await h.controller.sync();

    assert.deepEqual(listsSince(from), ['r1 r1 r1 r1']);
    assert.equal(await revisions(), 'r1 r1 r1 r1');
    assert.ok(await h.statusIs('r1'));
    assert.deepEqual(
      h.controller
        .history('web')
        .slice(-2)
        .map((entry) => `${entry.revision} ${entry.outcome} ${entry.reason}`),
      ['r1 started rollback', 'r1 complete rollout'],
    );
  });

  it('reverts to the baking fleet at once when an instance of the new one turns unhealthy during the bake', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const from = door.lists.length;

    h.failing.add(digestB);
    await h.runUntil(() => h.statusIs('r1'), { maxSeconds: 10 });
    await h.controller.sync();

    assert.deepEqual([...new Set(listsSince(from))], ['r2 r2 r2 r2', 'r1 r1 r1 r1']);
    assert.equal(await revisions(), 'r1 r1 r1 r1');
    assert.ok(h.events.some((event) => event.kind === 'rollout-failed' && event.reason === 'health'));
    // The revision that failed its bake is not a revision to roll back to.
    await assert.rejects(h.controller.rollback('web'), { code: 'NO_PREVIOUS_REVISION' });
  });

  it('removes a new fleet that never turns healthy; the old one never stops serving', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    const from = door.lists.length;
    h.failing.add(digestB);

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(async () => (await h.statusIs('r1')) && (await revisions()) === 'r1 r1 r1 r1', {
      watch: noteRevisions,
    });

    assert.deepEqual([...new Set(listsSince(from))], ['r1 r1 r1 r1']);
    assert.ok(h.events.some((event) => event.kind === 'rollout-failed'));
  });

  it('removes a new fleet that misses its progress deadline, serving from the old one throughout', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen({
      health: { failureThreshold: 100 },
      strategy: { ...blueGreen.strategy, progressDeadlineSeconds: 20 },
    });
    const from = door.lists.length;
    h.failing.add(digestB);

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(async () => (await h.statusIs('r1')) && (await revisions()) === 'r1 r1 r1 r1', {
      watch: noteRevisions,
    });

    assert.deepEqual([...new Set(listsSince(from))], ['r1 r1 r1 r1']);
    assert.ok(h.events.some((event) => event.kind === 'rollout-failed' && event.reason === 'deadline'));
  });

  it('after a restart mid-bake, serves the new fleet only and removes the old one at the same deadline', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const switchedAt = h.clock.now();
    h.clock.advance(20_000);
    const from = door.lists.length;

    h.restart();
    await h.runUntil(async () => h.clock.now() - switchedAt >= (bakeSeconds - 1) * 1000);
    const baking = await revisions();
    await h.runUntil(async () => (await revisions()) === 'r2 r2 r2 r2', { maxSeconds: 5 });

    assert.equal(baking, 'r1 r1 r1 r1 r2 r2 r2 r2');
    // A restarted controller checks every instance again before it counts one ready: an empty list
    // may come first, never one of the old fleet.
    assert.deepEqual(
      [...new Set(listsSince(from))].filter((list) => list !== ''),
      ['r2 r2 r2 r2'],
    );
  });

  it('after a restart mid-bake, still switches back at once on a rollback', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    h.restart();
    await h.runUntil(async () => (await h.controller.status('web')).available === 8, { maxSeconds: 10 });
    const from = door.lists.length;

    await h.controller.rollback('web');
    await h.controller.sync();

    assert.deepEqual(listsSince(from), ['r1 r1 r1 r1']);
    assert.equal(await revisions(), 'r1 r1 r1 r1');
  });

  it('ends a bake when another rollout starts: the baking fleet goes, the serving one serves until the next switch', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const from = door.lists.length;

    await h.controller.rollout('web', { revision: 'r3', digest: digestC });
    await h.controller.sync();
    await noteRevisions();
    const during = await revisions();
    await h.runUntil(() => h.statusIs('r3'), { watch: noteRevisions });
    await h.controller.sync();

    assert.equal(during, 'r2 r2 r2 r2 r3 r3 r3 r3');
    assert.deepEqual([...new Set(listsSince(from))], ['r2 r2 r2 r2', 'r3 r3 r3 r3']);
    assert.equal(await revisions(), 'r2 r2 r2 r2 r3 r3 r3 r3');
  });

  it('holds the switch while the fleet is paused, the new fleet ready out of traffic, and switches on resume', async () => {
    const { h, door, noteRevisions, listsSince, revisions } = await settledBlueGreen();
    const from = door.lists.length;

    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.controller.pause('web', { actor: 'ops' });
    await h.runUntil(async () => (await h.controller.status('web')).available === 8, {
      watch: noteRevisions,
    });
    h.clock.advance(200_000);
    await h.controller.sync();
    const paused = await h.controller.status('web');
    await h.controller.resume('web', { actor: 'ops' });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    await h.controller.sync();

    assert.equal(paused.status, 'progressing');
    assert.deepEqual([...new Set(listsSince(from))], ['r1 r1 r1 r1', 'r2 r2 r2 r2']);
    assert.equal(await revisions(), 'r1 r1 r1 r1 r2 r2 r2 r2');
  });

  it('replaces a serving instance that exits before the switch with one of the serving revision', async () => {
    const { h, door, noteRevisions, listsSince } = await settledBlueGreen({
      health: { failureThreshold: 100 },
    });
    h.failing.add(digestB);
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(async () => (await liveRevisions(h)) === 'r1 r1 r1 r1 r2 r2 r2 r2', {
      watch: noteRevisions,
    });
    const [first] = await h.engine.list({ service: 'web' });
    const from = door.lists.length;

    h.engine.crash(first!.id, 1);
    await h.runUntil(
      async () => door.backends.length === 4 && (await liveRevisions(h)) === 'r1 r1 r1 r1 r2 r2 r2 r2',
      {
        maxSeconds: 10,
        watch: noteRevisions,
      },
    );
    const made = (await h.engine.list({ service: 'web' })).filter(
      (one) => one.revision === 'r1' && one.id !== first!.id,
    );
    h.failing.delete(digestB);
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    await h.controller.sync();

    assert.ok(made.every((one) => one.digest === digestA));
    assert.deepEqual([...new Set(listsSince(from))], ['r1 r1 r1', 'r1 r1 r1 r1', 'r2 r2 r2 r2']);
  });

  it('replaces serving instances within the crash backoff when the serving revision keeps exiting', async () => {
    const { h, noteRevisions } = await settledBlueGreen({ health: { failureThreshold: 100 } });
    h.failing.add(digestB);
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(async () => (await liveRevisions(h)) === 'r1 r1 r1 r1 r2 r2 r2 r2', {
      watch: noteRevisions,
    });
    const [first] = await h.engine.list({ service: 'web' });
    const madeOfR1 = () =>
      h.events.filter((event) => event.kind === 'instance-created' && event.revision === 'r1').length;
    const before = madeOfR1();

    h.engine.failImage(digestA, 'exit');
    h.engine.crash(first!.id, 1);
    for (let second = 0; second < 15; second++) {
      await h.controller.sync();
      h.clock.advance(1000);
    }

    // Waits of 1 s, 2 s, 4 s, then 8 s after each crash: three creates in 15 s, not one a sync.
    assert.equal(madeOfR1() - before, 3);
    assert.ok(h.events.some((event) => event.kind === 'degraded'));
  });

  it('replaces a baking instance that exits, so a rollback within the bake switches back to a whole fleet at once', async () => {
    const { h, door, noteRevisions, listsSince } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const baking = (await h.engine.list({ service: 'web' })).find((one) => one.revision === 'r1');

    h.engine.crash(baking!.id, 1);
    await h.runUntil(async () => (await h.controller.status('web')).available === 8, {
      maxSeconds: 20,
      watch: noteRevisions,
    });
    const from = door.lists.length;
    await h.controller.rollback('web');
    await h.controller.sync();

    assert.deepEqual(listsSince(from), ['r1 r1 r1 r1']);
    assert.equal(await liveRevisions(h), 'r1 r1 r1 r1');
    assert.ok(h.engine.peakRunning <= 8, `peak ${h.engine.peakRunning}`);
  });

  it('makes no instance of a baking revision that was revoked since, though one of it exits', async () => {
    const { h, noteRevisions } = await settledBlueGreen();
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const baking = (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r1');
    h.refused.add(baking[0]!.digest);
    const from = h.events.length;

    h.engine.crash(baking[0]!.id, 1);
    const crashedAt = h.clock.now();
    // Past the minute after which a refusal is asked again.
    await h.runUntil(async () => h.clock.now() - crashedAt >= 90_000, { maxSeconds: 100 });

    const madeSince = h.events
      .slice(from)
      .filter((event) => event.kind === 'instance-created' && event.revision === 'r1');
    assert.deepEqual(madeSince, []);
    assert.equal(await liveRevisions(h), 'r2 r2 r2 r2');
  });

  it('replaces instances past maxLifetimeSeconds once settled, one at a time, surge first, but none during the bake', async () => {
    const { h, door, noteRevisions } = await settledBlueGreen({ maxLifetimeSeconds: 30 });
    await h.controller.rollout('web', { revision: 'r2', digest: digestB });
    await h.runUntil(() => h.statusIs('r2'), { watch: noteRevisions });
    const switchedAt = h.clock.now();
    const greens = new Set(
      (await h.engine.list({ service: 'web' })).filter((one) => one.revision === 'r2').map((one) => one.id),
    );
    let fewestServing = Number.POSITIVE_INFINITY;
    let mostAfterBake = 0;

    await h.runUntil(
      async () => !(await h.engine.list({ service: 'web' })).some((one) => greens.has(one.id)),
      {
        maxSeconds: 300,
        watch: async () => {
          fewestServing = Math.min(fewestServing, door.backends.length);
          const live = await liveRevisions(h);
          if (!live.includes('r1')) mostAfterBake = Math.max(mostAfterBake, live.split(' ').length);
        },
      },
    );
    const removed = (reason?: string, revision?: string) =>
      h.events.findIndex(
        (event) =>
          event.kind === 'instance-removed' &&
          (reason === undefined || event.reason === reason) &&
          (revision === undefined || event.revision === revision),
      );
    const expired = h.events.flatMap((event) =>
      event.kind === 'instance-removed' && event.reason === 'expired' ? [event.id] : [],
    );

    assert.deepEqual(expired.sort(), [...greens].sort());
    // size 4 and a surge of 1: one expiry at a time, each removed only once its replacement serves.
    assert.equal(mostAfterBake, 5);
    assert.equal(fewestServing, 4);
    // The bake keeps r1 for 60 s, past every r2 instance's lifetime: no expiry before it ends.
    assert.ok(removed(undefined, 'r1') >= 0 && removed(undefined, 'r1') < removed('expired'));
    assert.ok(h.clock.now() - switchedAt >= bakeSeconds * 1000);
  });

  it('is a plain switch for a first rollout: the instances serve as they turn ready', async () => {
    const h = fleetHarness();

    await h.settledOnA(blueGreen);

    assert.equal((await h.engine.list({ service: 'web' })).length, 4);
    assert.equal(h.frontDoor.backends.length, 4);
    assert.equal(
      (await h.engine.list()).every((one) => one.digest === digestA),
      true,
    );
  });
});
