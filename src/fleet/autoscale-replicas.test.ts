import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutoscaleMetric } from '../specfile/index.js';
import {
  type InstanceSample,
  isWithinTolerance,
  type MetricProposal,
  type ProposalInput,
  proposeReplicas,
} from './autoscale-replicas.js';

const now = Date.UTC(2025, 0, 1, 12);
const longAgo = now - 3_600_000;

/** A running, ready instance, started an hour ago; `values` are its samples. */
function running(
  id: string,
  values: { cpu?: number; rps?: number; inFlight?: number; ready?: boolean } = {},
): InstanceSample {
  return {
    id,
    phase: 'running',
    ready: values.ready ?? true,
    startedAt: longAgo,
    readyChangedAt: longAgo + 5_000,
    ...(values.cpu !== undefined ? { cpu: { used: values.cpu, at: now, windowMs: 15_000 } } : {}),
    ...(values.rps !== undefined ? { requestsPerSecond: values.rps } : {}),
    ...(values.inFlight !== undefined ? { inFlightRequests: values.inFlight } : {}),
  };
}

function pending(id: string): InstanceSample {
  return { id, phase: 'pending', ready: false };
}

const cpu = (averageUtilization: number): AutoscaleMetric => ({ kind: 'cpu', averageUtilization });
const rps = (averageValue: number): AutoscaleMetric => ({ kind: 'requestsPerSecond', averageValue });
const inFlight = (averageValue: number): AutoscaleMetric => ({ kind: 'inFlightRequests', averageValue });

function propose(metric: AutoscaleMetric, input: Partial<ProposalInput> & Pick<ProposalInput, 'instances'>) {
  const proposal = proposeReplicas(metric, { size: input.instances.length, cpuLimit: 1, now, ...input });
  assert.equal(proposal.kind, 'proposal', JSON.stringify(proposal));
  return proposal as Extract<MetricProposal, { kind: 'proposal' }>;
}

const fleetOf = (count: number, values: Parameters<typeof running>[1]) =>
  Array.from({ length: count }, (_, index) => running(`i${index}`, values));

describe('one metric’s proposal (HPA’s replica calculator)', () => {
  it('asks for ceil(size × current / target): 4 instances at 90% of a 60% target want 6', () => {
    const proposal = propose(cpu(60), { instances: fleetOf(4, { cpu: 0.9 }) });

    assert.equal(proposal.current, 90);
    assert.equal(proposal.ratio, 1.5);
    assert.equal(proposal.replicas, 6);
    assert.equal(proposal.outcome, 'computed');
  });

  it('measures cpu as a whole percent of the limit, truncated as HPA’s integer division', () => {
    // 1.0 CPU used of 3 × 1 CPU is 33.3%: HPA says 33, so 33/50 = 0.66 and ceil(0.66 × 3) = 2.
    const instances = [running('a', { cpu: 0.5 }), running('b', { cpu: 0.25 }), running('c', { cpu: 0.25 })];

    const proposal = propose(cpu(50), { instances });

    assert.equal(proposal.current, 33);
    assert.equal(proposal.ratio, 0.66);
    assert.equal(proposal.replicas, 2);
  });

  it('measures cpu against the limit it is given: 0.3 of 0.5 CPU is 60%', () => {
    const proposal = propose(cpu(30), { instances: fleetOf(2, { cpu: 0.3 }), cpuLimit: 0.5 });

    assert.equal(proposal.current, 60);
    assert.equal(proposal.replicas, 4);
  });

  it('keeps the size while the ratio is within [0.9, 1.1], both ends included', () => {
    const at110 = propose(cpu(70), { instances: fleetOf(4, { cpu: 0.77 }) });
    const at90 = propose(cpu(70), { instances: fleetOf(4, { cpu: 0.63 }) });
    const atRps = propose(rps(10), { instances: fleetOf(3, { rps: 11 }) });

    assert.deepEqual([at110.ratio, at110.replicas, at110.outcome], [1.1, 4, 'within-tolerance']);
    assert.deepEqual([at90.ratio, at90.replicas, at90.outcome], [0.9, 4, 'within-tolerance']);
    assert.deepEqual([atRps.replicas, atRps.outcome], [3, 'within-tolerance']);
  });

  it('scales just outside the tolerance: 78% of 70% is 1.114, so 4 become ceil(4.457) = 5', () => {
    const above = propose(cpu(70), { instances: fleetOf(4, { cpu: 0.78 }) });
    const below = propose(cpu(70), { instances: fleetOf(4, { cpu: 0.62 }) });

    assert.equal(above.replicas, 5);
    // 62/70 × 4 = 3.54: ceil keeps 4, as HPA does.
    assert.equal(below.replicas, 4);
    assert.equal(below.outcome, 'computed');
  });

  it('averages requests per second and in-flight requests per measured instance', () => {
    const perSecond = propose(rps(50), {
      instances: [running('a', { rps: 120 }), running('b', { rps: 80 })],
    });
    const flight = propose(inFlight(4), { instances: fleetOf(3, { inFlight: 1 }) });

    assert.deepEqual([perSecond.current, perSecond.ratio, perSecond.replicas], [100, 2, 4]);
    assert.deepEqual([flight.current, flight.ratio, flight.replicas], [1, 0.25, 1]);
  });

  it('counts a pending instance as using nothing on a scale-up, and recomputes over all of them', () => {
    // 2 at 90% of 50%: ratio 1.8 would make ceil(3.6) = 4 of the 2; with the pending one at 0,
    // 180/300 = 60% → 1.2 → ceil(1.2 × 3) = 4.
    const instances = [running('a', { cpu: 0.9 }), running('b', { cpu: 0.9 }), pending('c')];

    const proposal = propose(cpu(50), { instances });

    assert.equal(proposal.ratio, 1.8);
    assert.equal(proposal.adjustedRatio, 1.2);
    assert.equal(proposal.replicas, 4);
    assert.deepEqual(proposal.counted, { measured: 2, notReady: 1, unmeasured: 0 });
  });

  it('holds the size when the not-ready instances bring a scale-up back within the tolerance', () => {
    // 2 at 100% of 50% is 2.0; with 2 pending at 0% it is 50% → 1.0: no scale-up on starting instances.
    const instances = [running('a', { cpu: 1 }), running('b', { cpu: 1 }), pending('c'), pending('d')];

    const proposal = propose(cpu(50), { instances });

    assert.equal(proposal.adjustedRatio, 1);
    assert.equal(proposal.replicas, 4);
    assert.equal(proposal.outcome, 'direction-held');
  });

  it('leaves a not-ready instance’s cpu sample out, so a starting burst does not count', () => {
    const instances = [
      ...fleetOf(3, { cpu: 0.2 }),
      { ...running('busy', { cpu: 1 }), ready: false, startedAt: now - 10_000, readyChangedAt: now - 10_000 },
    ];

    const proposal = propose(cpu(50), { instances, size: 4 });

    // 20/50 = 0.4 over the 3 measured: ceil(0.4 × 3) = ceil(1.2000000000000002) = 2.
    assert.deepEqual(proposal.counted, { measured: 3, notReady: 1, unmeasured: 0 });
    assert.equal(proposal.replicas, 2);
  });

  it('leaves out a cpu sample taken before a whole window passed since the instance turned ready', () => {
    // Started a minute ago, ready for 10 s; its sample covers 15 s, so some of it is from before ready.
    const fresh: InstanceSample = {
      id: 'fresh',
      phase: 'running',
      ready: true,
      startedAt: now - 60_000,
      readyChangedAt: now - 10_000,
      cpu: { used: 1, at: now, windowMs: 15_000 },
    };

    const proposal = propose(cpu(50), { instances: [...fleetOf(2, { cpu: 0.25 }), fresh], size: 3 });

    assert.deepEqual(proposal.counted, { measured: 2, notReady: 1, unmeasured: 0 });
    assert.equal(proposal.current, 25);
  });

  it('counts the cpu of an instance that was ready once and is not now, after the initialization period', () => {
    const flapping: InstanceSample = {
      id: 'flapping',
      phase: 'running',
      ready: false,
      startedAt: now - 600_000,
      readyChangedAt: now - 60_000,
      cpu: { used: 0.5, at: now, windowMs: 15_000 },
    };

    const proposal = propose(cpu(50), { instances: [...fleetOf(1, { cpu: 0.5 }), flapping] });

    assert.deepEqual(proposal.counted, { measured: 2, notReady: 0, unmeasured: 0 });
  });

  it('counts an unmeasured instance as carrying the target on a scale-down', () => {
    // 3 at 2 rps of 10 is 0.2, which alone would make ceil(0.6) = 1. With the 4th at 10 rps:
    // (6 + 10) / 4 = 4 → 0.4 → ceil(0.4 × 4) = 2.
    const instances = [...fleetOf(3, { rps: 2 }), running('quiet')];

    const proposal = propose(rps(10), { instances });

    assert.equal(proposal.ratio, 0.2);
    assert.equal(proposal.adjustedRatio, 0.4);
    assert.equal(proposal.replicas, 2);
    assert.deepEqual(proposal.counted, { measured: 3, notReady: 0, unmeasured: 1 });
  });

  it('counts an unmeasured instance as using all of its cpu limit on a scale-down', () => {
    // 3 at 20% of 50% with the 4th at 100%: 160/400 = 40% → 0.8 → ceil(3.2) = 4, no scale-down.
    const instances = [...fleetOf(3, { cpu: 0.2 }), running('quiet')];

    const proposal = propose(cpu(50), { instances });

    assert.equal(proposal.adjustedRatio, 0.8);
    assert.equal(proposal.replicas, 4);
  });

  it('counts an unmeasured instance as carrying nothing on a scale-up', () => {
    // 2 at 15 in flight of 5 is 3.0; with 2 at 0 it is 7.5 → 1.5 → ceil(1.5 × 4) = 6.
    const instances = [...fleetOf(2, { inFlight: 15 }), running('x'), running('y')];

    const proposal = propose(inFlight(5), { instances });

    assert.equal(proposal.adjustedRatio, 1.5);
    assert.equal(proposal.replicas, 6);
  });

  it('holds the size when the unmeasured instances bring a scale-down within the tolerance', () => {
    // 1 at 8 of 10 is 0.8; with 3 at 10 it is 9.5 → 0.95.
    const instances = [running('a', { rps: 8 }), running('b'), running('c'), running('d')];

    const proposal = propose(rps(10), { instances });

    assert.equal(proposal.adjustedRatio, 0.95);
    assert.deepEqual([proposal.replicas, proposal.outcome], [4, 'direction-held']);
  });

  it('holds the size when counting more instances than the size would turn a scale-down into a scale-up', () => {
    // Size 2 with 4 instances (a surge): 3 at 5 of 10 and one unmeasured at 10 → 6.25 → 0.625,
    // ceil(0.625 × 4) = 3 > 2.
    const instances = [...fleetOf(3, { rps: 5 }), running('new')];

    const proposal = propose(rps(10), { instances, size: 2 });

    assert.deepEqual([proposal.replicas, proposal.outcome], [2, 'direction-held']);
  });

  it('counts a leaving instance nowhere', () => {
    const instances = [
      ...fleetOf(2, { rps: 20 }),
      { ...running('gone', { rps: 0 }), phase: 'leaving' as const },
    ];

    const proposal = propose(rps(10), { instances, size: 2 });

    assert.deepEqual(proposal.counted, { measured: 2, notReady: 0, unmeasured: 0 });
    assert.equal(proposal.replicas, 4);
  });

  it('has no proposal when no instance could be measured, and says why', () => {
    const proposal = proposeReplicas(rps(10), {
      size: 2,
      instances: [running('a'), pending('b')],
      cpuLimit: 1,
      now,
    });

    assert.equal(proposal.kind, 'invalid');
    assert.match(proposal.kind === 'invalid' ? proposal.message : '', /no requestsPerSecond sample/);
  });

  it('has the tolerance band inclusive at both ends', () => {
    assert.deepEqual(
      [0.89, 0.9, 1, 1.1, 1.11].map((ratio) => isWithinTolerance(ratio)),
      [false, true, true, true, false],
    );
  });
});
