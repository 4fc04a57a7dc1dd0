import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../common/clock.test-support.js';
import type { AutoscaleMetric, AutoscaleSection } from '../specfile/index.js';
import { decideScale, type ScaleDecision, scaleApplied } from './autoscale.js';
import type { AutoscaleHistory } from './autoscale-behavior.js';
import type { InstanceSample } from './autoscale-replicas.js';

const clock = () => new FakeClock(Date.UTC(2025, 0, 1, 12));

function section(overrides: Partial<AutoscaleSection> = {}): AutoscaleSection {
  return {
    min: 2,
    max: 10,
    metrics: [{ kind: 'inFlightRequests', averageValue: 5 }],
    syncPeriodSeconds: 15,
    behavior: { scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 300 } },
    ...overrides,
  };
}

/** `count` ready instances, started long before `now`, each with the samples `values(index)` gives. */
function fleet(
  count: number,
  now: number,
  values: (
    index: number,
  ) => Pick<InstanceSample, 'requestsPerSecond' | 'inFlightRequests'> & { cpu?: number },
): InstanceSample[] {
  return Array.from({ length: count }, (_, index) => {
    const { cpu, ...rest } = values(index);
    return {
      id: `i${index}`,
      phase: 'running' as const,
      ready: true,
      startedAt: now - 3_600_000,
      readyChangedAt: now - 3_590_000,
      ...(cpu !== undefined ? { cpu: { used: cpu, at: now, windowMs: 15_000 } } : {}),
      ...rest,
    };
  });
}

/** `load` requests in flight spread over the instances in whole requests, as a front door would. */
const spread = (load: number, size: number) => (index: number) => ({
  inFlightRequests: Math.floor(load / size) + (index < load % size ? 1 : 0),
});

describe('the autoscaler’s decision (HPA’s reconcileAutoscaler)', () => {
  it('scales up, then down only after the 300 s stabilization window, on a fake clock', () => {
    const time = clock();
    const start = time.now();
    const autoscale = section();
    let size = 2;
    let history: AutoscaleHistory | undefined;
    const scaled: { second: number; to: number; decision: ScaleDecision }[] = [];

    // HPA's sync period is 15 s. 40 in flight for 45 s, then 8.
    for (let second = 0; second <= 600; second += 15) {
      const load = second < 45 ? 40 : 8;
      const now = time.now();
      const result = decideScale(autoscale, {
        size,
        instances: fleet(size, now, spread(load, size)),
        cpuLimit: 1,
        now,
        history,
      });
      history = result.history;
      if (result.decision.to !== size) {
        scaled.push({ second: (now - start) / 1000, to: result.decision.to, decision: result.decision });
        history = scaleApplied(history, result.decision, autoscale);
        size = result.decision.to;
      }
      time.advance(15_000);
    }

    // 0 s: 20 per instance of 5 asks for ceil(4 × 2) = 8; the first 15 s allow max(2 + 4, 2 × 2) = 6.
    // 15 s: 40 over 6 is 6.666 → 1.3332 → ceil(7.9992) = 8, within max(6 + 4, 12) and max 10.
    // 30 s: 5 each: within tolerance. 45 s on: 1 each asks for 2, but 8 from 30 s holds it for 300 s.
    assert.deepEqual(
      scaled.map(({ second, to }) => [second, to]),
      [
        [0, 6],
        [15, 8],
        [330, 2],
      ],
    );
    const [first, , last] = scaled;
    assert.equal(first?.decision.recommended, 8);
    assert.deepEqual(first?.decision.limit, { replicas: 6, reason: 'scale-up-limit', limit: 6 });
    assert.equal(
      first?.decision.message,
      'inFlightRequests above target (20 per instance, target 5): 2 → 6 (scale up limit 6)',
    );
    assert.equal(last?.decision.message, 'all metrics below target: 8 → 2');
  });

  it('says the window held a scale-down, and what it recommended', () => {
    const now = Date.UTC(2025, 0, 1);
    const history: AutoscaleHistory = {
      recommendations: [{ replicas: 8, at: now - 100_000 }],
      scaleUps: [],
      scaleDowns: [],
    };

    const { decision } = decideScale(section(), {
      size: 8,
      instances: fleet(8, now, () => ({ inFlightRequests: 1 })),
      cpuLimit: 1,
      now,
      history,
    });

    assert.equal(decision.to, 8);
    assert.equal(decision.recommended, 2);
    assert.deepEqual(decision.stabilization, { replicas: 8, reason: 'scale-down-stabilized' });
    assert.equal(
      decision.message,
      'all metrics below target: keeping 8 (recommended 2, held at 8 by the last 300 s of recommendations)',
    );
  });

  it('does not scale down at once after the control plane starts: the current size is its first recommendation', () => {
    const now = Date.UTC(2025, 0, 1);

    const { decision } = decideScale(section(), {
      size: 8,
      instances: fleet(8, now, () => ({ inFlightRequests: 1 })),
      cpuLimit: 1,
      now,
    });

    assert.deepEqual([decision.recommended, decision.to], [2, 8]);
  });

  it('takes the highest proposal across metrics', () => {
    const now = Date.UTC(2025, 0, 1);
    const metrics: AutoscaleMetric[] = [
      { kind: 'cpu', averageUtilization: 70 },
      { kind: 'requestsPerSecond', averageValue: 10 },
    ];

    // cpu: 35/70 = 0.5 → 2; requests: 30/10 = 3 → 12; the first 15 s allow max(4 + 4, 8) = 8.
    const { decision } = decideScale(section({ metrics, max: 20 }), {
      size: 4,
      instances: fleet(4, now, () => ({ cpu: 0.35, requestsPerSecond: 30 })),
      cpuLimit: 1,
      now,
      history: { recommendations: [], scaleUps: [], scaleDowns: [] },
    });

    assert.deepEqual(
      decision.metrics.map((one) => (one.kind === 'proposal' ? [one.metric, one.replicas] : [one.metric])),
      [
        ['cpu', 2],
        ['requestsPerSecond', 12],
      ],
    );
    assert.deepEqual([decision.recommended, decision.to], [12, 8]);
    assert.match(decision.message, /^requestsPerSecond above target/);
  });

  it('scales down only when every metric asks for it: one within tolerance keeps the size', () => {
    const now = Date.UTC(2025, 0, 1);
    const metrics: AutoscaleMetric[] = [
      { kind: 'cpu', averageUtilization: 50 },
      { kind: 'requestsPerSecond', averageValue: 10 },
    ];

    const { decision } = decideScale(section({ metrics }), {
      size: 4,
      instances: fleet(4, now, () => ({ cpu: 0.52, requestsPerSecond: 1 })),
      cpuLimit: 1,
      now,
      history: { recommendations: [], scaleUps: [], scaleDowns: [] },
    });

    assert.deepEqual([decision.recommended, decision.to], [4, 4]);
    assert.equal(decision.message, 'metrics within tolerance: keeping 4');
  });

  it('keeps the size when a metric cannot be read and the others would scale down', () => {
    const now = Date.UTC(2025, 0, 1);
    const metrics: AutoscaleMetric[] = [
      { kind: 'cpu', averageUtilization: 50 },
      { kind: 'requestsPerSecond', averageValue: 10 },
    ];

    const { decision } = decideScale(section({ metrics }), {
      size: 4,
      instances: fleet(4, now, () => ({ requestsPerSecond: 1 })),
      cpuLimit: 1,
      now,
    });

    assert.equal(decision.reason, 'invalid-metrics');
    assert.equal(decision.to, 4);
    assert.match(decision.message, /^no change: 1 of 2 metrics could not be read \(no cpu sample/);
  });

  it('scales up on the metrics it can read when one cannot be read', () => {
    const now = Date.UTC(2025, 0, 1);
    const metrics: AutoscaleMetric[] = [
      { kind: 'cpu', averageUtilization: 50 },
      { kind: 'requestsPerSecond', averageValue: 10 },
    ];

    const { decision } = decideScale(section({ metrics }), {
      size: 4,
      instances: fleet(4, now, () => ({ requestsPerSecond: 15 })),
      cpuLimit: 1,
      now,
    });

    assert.deepEqual([decision.reason, decision.to], ['metrics', 6]);
  });

  it('changes nothing when no metric can be read', () => {
    const now = Date.UTC(2025, 0, 1);

    const { decision } = decideScale(section(), {
      size: 3,
      instances: fleet(3, now, () => ({})),
      cpuLimit: 1,
      now,
    });

    assert.deepEqual([decision.reason, decision.to], ['invalid-metrics', 3]);
  });

  it('brings a size above max or below min inside without looking at the metrics', () => {
    const now = Date.UTC(2025, 0, 1);
    const busy = (count: number) => fleet(count, now, () => ({ inFlightRequests: 50 }));

    const above = decideScale(section(), { size: 12, instances: busy(12), cpuLimit: 1, now }).decision;
    const below = decideScale(section(), { size: 1, instances: busy(1), cpuLimit: 1, now }).decision;

    assert.deepEqual(
      [above.reason, above.to, above.message],
      ['above-max', 10, 'the size is above max: 12 → 10'],
    );
    assert.deepEqual([below.reason, below.to], ['below-min', 2]);
    assert.deepEqual(above.metrics, []);
  });

  it('leaves a fleet scaled to 0 by hand alone, as HPA does', () => {
    const now = Date.UTC(2025, 0, 1);

    const { decision } = decideScale(section(), { size: 0, instances: [], cpuLimit: 1, now });

    assert.deepEqual([decision.reason, decision.to], ['scaling-disabled', 0]);
  });

  it('returns a plain record with its inputs, ready for the journal', () => {
    const now = Date.UTC(2025, 0, 1);
    const instances = [
      ...fleet(3, now, () => ({ inFlightRequests: 9 })),
      { id: 'new', phase: 'pending' as const, ready: false },
      { id: 'old', phase: 'leaving' as const, ready: false },
    ];

    const { decision } = decideScale(section(), { size: 4, instances, cpuLimit: 1, now });

    assert.deepEqual(JSON.parse(JSON.stringify(decision)), decision);
    assert.deepEqual(decision.instances, { running: 3, ready: 3, pending: 1, leaving: 1 });
    assert.equal(decision.at, now);
    assert.deepEqual([decision.min, decision.max, decision.from], [2, 10, 4]);
    const [proposal] = decision.metrics;
    assert.equal(proposal?.kind, 'proposal');
    // 9 of 5 is 1.8; with the pending one at 0: 27/4 = 6.75 → 1.35 → ceil(1.35 × 4) = 6.
    assert.deepEqual(
      proposal?.kind === 'proposal'
        ? [proposal.current, proposal.ratio, proposal.adjustedRatio, proposal.replicas, proposal.counted]
        : [],
      [9, 1.8, 1.35, 6, { measured: 3, notReady: 1, unmeasured: 0 }],
    );
  });
});
