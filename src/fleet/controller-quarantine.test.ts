import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Instance } from '../engines/engine.js';
import { digestA, fleetHarness, template } from './controller.test-support.js';
import type { HealthProber, InstanceAddress } from './types.js';

const servingPorts = (h: ReturnType<typeof fleetHarness>) => h.frontDoor.serving().map((one) => one.port);
const listedPorts = (h: ReturnType<typeof fleetHarness>) => h.frontDoor.backends.map((one) => one.port);

describe('FleetController quarantine', () => {
  it('takes a quarantined instance out of the front door at once, before any sync, and keeps it running', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [victim] = await h.engine.list({ service: 'web' });

    const outcome = await h.controller.quarantine('web', victim!.id, { reason: 'drift' });

    assert.deepEqual(outcome, { kind: 'out-of-door' });
    assert.deepEqual(
      h.frontDoor.drained.map((one) => one.port),
      [victim!.address!.port],
    );
    assert.ok(!servingPorts(h).includes(victim!.address!.port));
    assert.equal(servingPorts(h).length, 3);
    assert.ok(
      (await h.engine.list()).some((one) => one.id === victim!.id),
      'not destroyed: drained only',
    );
  });

  it('never lets a quarantined instance back into the front door, and removes it once its replacement is ready', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [victim] = await h.engine.list({ service: 'web' });
    const port = victim!.address!.port;
    await h.controller.quarantine('web', victim!.id, { reason: 'exec' });
    const statuses: { quarantined?: boolean; ready: boolean; serving?: boolean }[] = [];
    let peak = 0;

    await h.runUntil(async () => !(await h.engine.list()).some((one) => one.id === victim!.id), {
      maxSeconds: 10,
      watch: async () => {
        assert.ok(!listedPorts(h).includes(port), 'listed to the front door again');
        assert.ok(!servingPorts(h).includes(port), 'served again');
        peak = Math.max(peak, h.engine.running);
        const row = (await h.controller.status('web')).instances.find((one) => one.id === victim!.id);
        if (row) statuses.push(row);
      },
    });

    assert.ok(statuses.length > 0);
    assert.ok(statuses.every((row) => row.quarantined && !row.ready && row.serving === false));
    assert.equal(peak, 5, 'the replacement started before the quarantined instance went');
    assert.ok(
      h.events.some(
        (one) => one.kind === 'instance-removed' && one.id === victim!.id && one.reason === 'condemned',
      ),
    );
    await h.runUntil(() => h.statusIs('r1'), { maxSeconds: 10 });
    assert.equal(servingPorts(h).length, 4);
  });

  it('keeps the only instance of a fleet of one serving until its replacement is ready, and says so', async () => {
    const h = fleetHarness();
    await h.settledOnA({ size: 1 });
    const [only] = await h.engine.list({ service: 'web' });
    const port = only!.address!.port;
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;

    const outcome = await h.controller.quarantine('web', only!.id, { reason: 'drift' });
    const servingAtOnce = servingPorts(h);
    let replacement: Instance | undefined;
    await h.runUntil(
      async () => {
        replacement = (await h.engine.list()).find((one) => one.id !== only!.id);
        const rows = (await h.controller.status('web')).instances;
        return rows.some((one) => one.id === replacement?.id && one.ready);
      },
      { maxSeconds: 10 },
    );
    const servingOnceReplaced = servingPorts(h);
    await h.controller.sync();

    assert.deepEqual(outcome, { kind: 'kept-serving', reason: 'no other instance of the fleet is ready' });
    assert.deepEqual(servingAtOnce, [port]);
    assert.deepEqual(servingOnceReplaced, [replacement!.address!.port]);
    assert.ok(h.frontDoor.minServing >= 1, 'the fleet was never without an instance to serve');
    assert.deepEqual(
      (await h.engine.list()).map((one) => one.id),
      [replacement!.id],
    );
    assert.ok(
      h.frontDoor.drained.some((one) => one.port === port),
      'drained before removal: its last requests finish',
    );
  });

  it('keeps the last ready instance of a fleet whose every instance is quarantined serving until the first replacement is ready, then serves from replacements only', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const drifted = await h.engine.list({ service: 'web' });
    const driftedPorts = new Set(drifted.map((one) => one.address!.port));
    h.frontDoor.minServing = Number.POSITIVE_INFINITY;

    const outcomes = [];
    for (const one of drifted)
      outcomes.push(await h.controller.quarantine('web', one.id, { reason: 'drift' }));
    const servingAtOnce = servingPorts(h);
    await h.runUntil(
      async () =>
        !(await h.engine.list()).some((one) => driftedPorts.has(one.address!.port)) &&
        (await h.controller.status('web')).ready === 4,
      {
        maxSeconds: 30,
        watch: async () => {
          const serving = servingPorts(h);
          const replacements = serving.filter((one) => !driftedPorts.has(one));
          if (replacements.length > 0) assert.deepEqual(serving, replacements, 'mixed with drifted ones');
        },
      },
    );

    // One by one, as detections come: each leaves while another is ready; the last one stays.
    assert.deepEqual(
      outcomes.map((one) => one.kind),
      ['out-of-door', 'out-of-door', 'out-of-door', 'kept-serving'],
    );
    assert.deepEqual(servingAtOnce, [drifted[3]!.address!.port]);
    assert.ok(h.frontDoor.minServing >= 1);
    assert.ok(h.engine.peakRunning <= 5, `peak ${h.engine.peakRunning}: surge bound`);
  });

  it('leaves a held instance to its holder: replaced, out of the front door, never removed by the controller', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    const [held] = await h.engine.list({ service: 'web' });

    await h.controller.quarantine('web', held!.id, { reason: 'debug session', hold: true });
    await h.runUntil(async () => (await h.controller.status('web')).ready === 4, { maxSeconds: 10 });
    for (let second = 0; second < 20; second++) {
      h.clock.advance(1000);
      await h.controller.sync();
    }

    assert.ok((await h.engine.list()).some((one) => one.id === held!.id));
    assert.ok(!servingPorts(h).includes(held!.address!.port));
    assert.equal(h.engine.running, 5);
    assert.equal((await h.controller.status('web')).status, 'complete');
  });

  it('refuses to quarantine an instance of a service that has no fleet', async () => {
    const h = fleetHarness();

    await assert.rejects(h.controller.quarantine('nope', 'mem-000001', { reason: 'drift' }), {
      code: 'FLEET_NOT_FOUND',
    });
  });
});

/** A prober whose instances answer `startMs` after the engine started them, noting when each was checked. */
function slowStarter(h: ReturnType<typeof fleetHarness>, startMs: number) {
  const checks = new Map<number, number[]>();
  const prober: HealthProber = {
    check: async (address: InstanceAddress) => {
      checks.set(address.port, [...(checks.get(address.port) ?? []), h.clock.now()]);
      const instance = (await h.engine.list()).find((one) => one.address?.port === address.port);
      return instance !== undefined && h.clock.now() >= (instance.startedAt ?? 0) + startMs;
    },
  };
  return { checks, prober };
}

/** Runs the started controller on the fake clock in 50 ms steps until `done` or `maxMs`. */
async function runLoop(h: ReturnType<typeof fleetHarness>, done: () => Promise<boolean>, maxMs: number) {
  const start = h.clock.now();
  while (h.clock.now() - start <= maxMs) {
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    await h.controller.whenIdle();
    if (await done()) return h.clock.now() - start;
    h.clock.advance(50);
  }
  throw new Error(`not done after ${maxMs} simulated ms`);
}

describe('FleetController startup checks', () => {
  it('checks a new instance every 250 ms until its first pass, then at the spec interval', async () => {
    const h = fleetHarness();
    const { checks, prober } = slowStarter(h, 1200);
    h.restart({ prober });
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest: digestA },
      { template: template({ size: 1 }, 10) },
    );
    h.controller.start();

    await runLoop(h, async () => (await h.controller.status('web')).ready === 1, 5_000);
    await runLoop(h, async () => false, 15_000).catch(() => undefined);
    await h.controller.stop();

    const [port] = [...checks.keys()];
    const times = checks.get(port!)!;
    const started = (await h.engine.list())[0]!.startedAt!;
    const firstPass = times.findIndex((at) => at >= started + 1200);
    const starting = times.slice(0, firstPass + 1);
    const gaps = starting.slice(1).map((at, index) => at - starting[index]!);
    assert.ok(starting.length >= 4, `${starting.length} checks while starting`);
    assert.ok(
      gaps.every((gap) => gap >= 250 && gap <= 300),
      `gaps while starting: ${gaps.join(', ')}`,
    );
    assert.ok(times[firstPass]! - (started + 1200) <= 300, 'ready within one startup check of answering');
    const after = times.slice(firstPass);
    assert.ok(after.length >= 2, 'checked again at the interval');
    assert.ok(
      after.slice(1).every((at, index) => at - after[index]! >= 10_000),
      `checks after the first pass: ${after.join(', ')}`,
    );
  });

  it("with the example's defaults, readies the replacement of a quarantined instance within 5 s and then removes the old one", async () => {
    const h = fleetHarness();
    const { prober } = slowStarter(h, 1000);
    h.restart({ prober });
    // examples/hello: no fleet section (size 2, 25%/25%, minReadySeconds 5), health every 10 s.
    await h.controller.rollout(
      'web',
      { revision: 'r1', digest: digestA },
      { template: template({ size: 2 }, 10) },
    );
    h.controller.start();
    await runLoop(h, () => h.statusIs('r1'), 60_000);
    const [victim] = await h.engine.list({ service: 'web' });

    await h.controller.quarantine('web', victim!.id, { reason: 'drift' });
    // The quarantined instance is never ready again: two ready means the replacement is.
    const readyAfter = await runLoop(h, async () => (await h.controller.status('web')).ready === 2, 10_000);
    const removedAfter = await runLoop(
      h,
      async () => !(await h.engine.list()).some((one) => one.id === victim!.id),
      10_000,
    );
    await h.controller.stop();

    assert.ok(readyAfter <= 5_000, `replacement ready ${readyAfter} ms after quarantine`);
    assert.ok(readyAfter <= 2_000, `an instance answering 1 s after start is ready in ${readyAfter} ms`);
    assert.ok(
      removedAfter <= 1_000,
      `old instance removed ${removedAfter} ms after its replacement was ready`,
    );
  });
});
