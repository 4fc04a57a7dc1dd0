/**
 * The autoscaler wired into the controller (autoscale-step.ts), on the MemoryEngine with a fake
 * clock: the front door's counters and the engine's CPU time are read once per sync period, the
 * HPA decision is applied as a change of size, and decisions are reported for the journal. Every
 * expected size below is worked out by hand from HPA's arithmetic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutoscaleSection } from '../specfile/index.js';
import type { ScaleDecision } from './autoscale.js';
import { type FakeClock, FakeFrontDoor, fleetHarness, template } from './controller.test-support.js';
import type { FleetEvent, FrontDoorLoad, InstanceAddress } from './types.js';

/**
 * A front door whose every serving backend has `inFlight` requests in flight and is sent `rps`
 * requests a second, integrated over the fake clock, as the real door's counters are over time.
 */
class LoadedFrontDoor extends FakeFrontDoor {
  private perBackend = { inFlight: 0, rps: 0 };
  private readonly counters = new Map<string, { requests: number; inFlightMs: number }>();
  private at: number;

  constructor(private readonly clock: FakeClock) {
    super();
    this.at = clock.now();
  }

  /** From now on, each serving backend carries this load. */
  carry(load: { inFlight?: number; rps?: number }): void {
    this.settle();
    this.perBackend = { inFlight: load.inFlight ?? 0, rps: load.rps ?? 0 };
  }

  override setBackends(service: string, addresses: readonly InstanceAddress[]): void {
    this.settle();
    super.setBackends(service, addresses);
  }

  load(): FrontDoorLoad {
    this.settle();
    return {
      at: this.at,
      backends: this.serving().map((address) => ({
        ...address,
        inFlight: this.perBackend.inFlight,
        ...(this.counters.get(`${address.host}:${address.port}`) ?? { requests: 0, inFlightMs: 0 }),
      })),
    };
  }

  private settle(): void {
    const now = this.clock.now();
    const elapsed = now - this.at;
    const serving = new Set(this.serving().map((address) => `${address.host}:${address.port}`));
    // A backend the door no longer sends to is forgotten with its counters, as the real door does.
    for (const key of this.counters.keys()) if (!serving.has(key)) this.counters.delete(key);
    for (const key of serving) {
      const counter = this.counters.get(key) ?? { requests: 0, inFlightMs: 0 };
      counter.requests += (this.perBackend.rps * elapsed) / 1000;
      counter.inFlightMs += this.perBackend.inFlight * elapsed;
      this.counters.set(key, counter);
    }
    this.at = now;
  }
}

function autoscale(overrides: Partial<AutoscaleSection> = {}): AutoscaleSection {
  return {
    min: 2,
    max: 10,
    metrics: [{ kind: 'inFlightRequests', averageValue: 5 }],
    syncPeriodSeconds: 15,
    behavior: { scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 300 } },
    ...overrides,
  };
}

/** A fleet of `size` on digest A, settled, with its door carrying `load`; the clock then stands at `start`. */
async function autoscaledFleet(size: number, section: AutoscaleSection, load: { inFlight?: number } = {}) {
  const harness = fleetHarness();
  const door = new LoadedFrontDoor(harness.clock);
  harness.restart({ frontDoor: door });
  door.carry(load);
  const rolledOutAt = harness.clock.now();
  await harness.settledOnA({
    size,
    autoscale: section,
    strategy: { ...template().fleet.strategy, minReadySeconds: 0 },
  });
  const decisions = () =>
    harness.events.flatMap((event) => (event.kind === 'autoscaled' ? [event.decision] : []));
  /** Syncs once a simulated second for `seconds`. */
  const runFor = async (seconds: number) => {
    for (let second = 0; second < seconds; second++) {
      harness.clock.advance(1000);
      await harness.controller.sync();
    }
  };
  const size_ = async () => (await harness.controller.status('web')).size;
  /**
   * Syncs once a simulated second until the autoscaler decides again (quiet decisions included),
   * and returns that decision: a load changed right after it is steady over the next whole period.
   */
  const nextDecision = async () => {
    const before = (await harness.controller.status('web')).autoscale?.last?.at;
    for (let second = 0; second < 60; second++) {
      harness.clock.advance(1000);
      await harness.controller.sync();
      const last = (await harness.controller.status('web')).autoscale?.last;
      if (last && last.at !== before) return last;
    }
    throw new Error('no decision within 60 simulated seconds');
  };
  return { harness, door, rolledOutAt, decisions, runFor, nextDecision, size: size_ };
}

const since = (decision: ScaleDecision, start: number) => (decision.at - start) / 1000;

describe('the autoscaler in the controller', () => {
  it('keeps the size within the 10% tolerance and scales just beyond it: 4 × 5.6 / 5 → 5', async () => {
    const fleet = await autoscaledFleet(4, autoscale(), { inFlight: 5.4 });
    const quiet = await fleet.nextDecision();
    assert.equal(quiet.to, 4, '5.4 / 5 = 1.08 is within the tolerance');
    assert.match(quiet.message, /within tolerance: keeping 4/);
    assert.deepEqual(fleet.decisions(), [], 'a quiet decision is not journaled');

    fleet.door.carry({ inFlight: 5.6 });
    await fleet.nextDecision();

    const [decision, ...rest] = fleet.decisions();
    assert.equal(decision?.from, 4);
    assert.equal(decision?.to, 5, 'ceil(4 × 1.12) = ceil(4.48) = 5');
    const metric = decision?.metrics[0];
    assert.equal(metric?.kind === 'proposal' && metric.current, 5.6);
    assert.equal(metric?.kind === 'proposal' && metric.ratio, 1.12);
    assert.deepEqual(rest, []);
    assert.equal(await fleet.size(), 5);
    await fleet.runFor(2);
    assert.equal((await fleet.harness.controller.status('web')).instances.length, 5);
  });

  it('scales up by at most max(4, 100%) per 15 s, then stops at max: 2 → 6 → 10', async () => {
    const section = autoscale({ metrics: [{ kind: 'inFlightRequests', averageValue: 1 }] });
    const fleet = await autoscaledFleet(2, section, { inFlight: 10 });
    await fleet.nextDecision();
    await fleet.nextDecision();
    await fleet.runFor(30);

    const [first, second, ...rest] = fleet.decisions();
    assert.equal(first?.from, 2);
    assert.equal(first?.recommended, 20, '2 × 10 / 1');
    assert.equal(first?.to, 6, 'max(2 + 4, 2 × 2) = 6');
    assert.equal(first?.limit?.reason, 'scale-up-limit');
    // The next period: the 4 new instances have no sample yet and count as 0 on a scale-up:
    // ratio (2 × 10) / (6 × 1) = 3.33, ceil(3.33 × 6) = 20, limited to max(6 + 4, 12) = 12, then to max 10.
    assert.equal(second?.from, 6);
    assert.equal(second?.recommended, 20);
    assert.equal(second?.to, 10);
    assert.equal(second?.limit?.reason, 'too-many-replicas');
    assert.equal(since(second as ScaleDecision, first?.at ?? 0), 15);
    assert.deepEqual(rest, [], 'at max with the same condition: nothing more to journal');
    assert.equal(await fleet.size(), 10);
  });

  it('holds a scale-down for the stabilization window, journaled once, then goes to min: 6 → 2 after 60 s', async () => {
    const section = autoscale({
      behavior: { scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 60 } },
    });
    const fleet = await autoscaledFleet(6, section, { inFlight: 5 });
    const onTarget = await fleet.nextDecision();
    assert.equal(onTarget.to, 6, '5 / 5 is on target');
    fleet.door.carry({ inFlight: 1 });
    await fleet.runFor(60);

    const [held, scaled, ...rest] = fleet.decisions();
    // 6 × 1 / 5 = 1.2 → 2, but the window still holds recommendations of 6.
    assert.equal(held?.recommended, 2);
    assert.equal(held?.to, 6);
    assert.equal(held?.stabilization?.reason, 'scale-down-stabilized');
    assert.match(held?.message ?? '', /held at 6 by the last 60 s of recommendations/);
    assert.equal(since(held as ScaleDecision, onTarget.at), 15);
    assert.equal(scaled?.from, 6);
    assert.equal(
      scaled?.to,
      2,
      'the highest recommendation of the last 60 s is now 2; 100% per 15 s allows it',
    );
    // The last recommendation of 6 (the decision on target) leaves the window 60 s later.
    assert.equal(since(scaled as ScaleDecision, onTarget.at), 60);
    assert.deepEqual(rest, [], 'held at every period in between, journaled once');
    assert.equal(await fleet.size(), 2);
  });

  it('brings a size outside min and max inside at once, and takes a manual scale as its new start', async () => {
    const fleet = await autoscaledFleet(1, autoscale({ min: 3, max: 5 }), { inFlight: 5 });
    const [raised] = fleet.decisions();
    assert.equal(raised?.reason, 'below-min');
    assert.equal(raised?.to, 3);

    await fleet.harness.controller.scale('web', 9);
    await fleet.runFor(16);
    const lowered = fleet.decisions()[1];
    assert.equal(lowered?.reason, 'above-max');
    assert.equal(lowered?.from, 9);
    assert.equal(lowered?.to, 5);
    assert.equal(await fleet.size(), 5);

    await fleet.harness.controller.scale('web', 4);
    fleet.door.carry({ inFlight: 7.5 });
    await fleet.runFor(16);
    const fromManual = fleet.decisions()[2];
    assert.equal(fromManual?.from, 4, 'the decision starts from the size set by hand');
    assert.equal(fromManual?.to, 5, 'ceil(4 × 7.5 / 5) = 6, held at max 5');
  });

  it('leaves a fleet scaled to 0 alone, saying so once', async () => {
    const fleet = await autoscaledFleet(2, autoscale(), { inFlight: 50 });
    await fleet.harness.controller.scale('web', 0);
    await fleet.runFor(46);

    assert.deepEqual(
      fleet.decisions().map((one) => one.reason),
      ['scaling-disabled'],
    );
    assert.equal(await fleet.size(), 0);
  });

  it('scales on CPU from the engine’s stats: 2 instances at 90% of 1 CPU, target 50% → 4', async () => {
    const fleet = await autoscaledFleet(2, autoscale({ metrics: [{ kind: 'cpu', averageUtilization: 50 }] }));
    for (const instance of await fleet.harness.engine.list({ service: 'web' }))
      fleet.harness.engine.setCpuLoad(instance.id, 0.9);
    await fleet.runFor(31);

    const [decision] = fleet.decisions();
    const metric = decision?.metrics[0];
    assert.equal(metric?.kind === 'proposal' && metric.current, 90);
    assert.equal(decision?.to, 4, 'ceil(2 × 90 / 50) = ceil(3.6) = 4');
    assert.equal(await fleet.size(), 4);
  });

  it('says once, and changes nothing, when the engine has no CPU stats for a cpu metric', async () => {
    const harness = fleetHarness();
    const { engine } = harness;
    // An engine without the optional stats (the Engine contract allows it).
    const withoutStats = new Proxy(engine, {
      get: (target, name) => {
        if (name === 'stats') return undefined;
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    harness.restart({ engine: withoutStats });
    await harness.settledOnA({
      size: 3,
      autoscale: autoscale({ metrics: [{ kind: 'cpu', averageUtilization: 50 }] }),
    });
    for (let second = 0; second < 60; second++) {
      harness.clock.advance(1000);
      await harness.controller.sync();
    }

    const decisions = harness.events.flatMap((event) =>
      event.kind === 'autoscaled' ? [event.decision] : [],
    );
    assert.equal(decisions.length, 1, JSON.stringify(decisions));
    assert.equal(decisions[0]?.reason, 'invalid-metrics');
    assert.match(decisions[0]?.message ?? '', /no cpu sample from any ready instance/);
    assert.equal((await harness.controller.status('web')).size, 3);
  });

  it('says once, and changes nothing, when no front door counts for an inFlightRequests metric', async () => {
    // The harness's plain fake door says what it serves but keeps no counters.
    const harness = fleetHarness();
    await harness.settledOnA({ size: 3, autoscale: autoscale() });
    for (let second = 0; second < 60; second++) {
      harness.clock.advance(1000);
      await harness.controller.sync();
    }

    const decisions = harness.events.flatMap((event) =>
      event.kind === 'autoscaled' ? [event.decision] : [],
    );
    assert.deepEqual(
      decisions.map((one) => [one.reason, one.to]),
      [['invalid-metrics', 3]],
    );
    assert.match(decisions[0]?.message ?? '', /no inFlightRequests sample from any ready instance/);
  });

  it('keeps the autoscaled size through a rollout of a new template, within its new bounds', async () => {
    const fleet = await autoscaledFleet(
      2,
      autoscale({ metrics: [{ kind: 'inFlightRequests', averageValue: 1 }] }),
      {
        inFlight: 3,
      },
    );
    await fleet.runFor(31);
    assert.equal(await fleet.size(), 6);

    await fleet.harness.controller.rollout(
      'web',
      { revision: 'r2', digest: `sha256:${'b'.repeat(64)}` },
      { template: template({ size: 2, autoscale: autoscale({ max: 5 }) }) },
    );

    assert.equal(await fleet.size(), 5, 'not the template’s 2: the autoscaler owns the size, within max 5');
  });

  it('reports its bounds and last decision in the status, and only for an autoscaled fleet', async () => {
    const plain = fleetHarness();
    await plain.settledOnA();
    const fleet = await autoscaledFleet(2, autoscale(), { inFlight: 20 });
    await fleet.runFor(31);

    assert.equal((await plain.controller.status('web')).autoscale, undefined);
    const status = (await fleet.harness.controller.status('web')).autoscale;
    assert.equal(status?.min, 2);
    assert.equal(status?.max, 10);
    assert.ok(status?.last);
    assert.match(status.last.message, /inFlightRequests above target/);
    assert.ok(fleet.harness.events.some((event: FleetEvent) => event.kind === 'autoscaled'));
  });
});
