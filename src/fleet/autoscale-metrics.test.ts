import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Instance, InstanceStats } from '../engines/index.js';
import { instanceSamples, type ReadinessSeen, readingsOf, trackReadiness } from './autoscale-metrics.js';
import type { ObservedInstance } from './plan-rollout.js';
import type { FrontDoorLoad } from './types.js';

const now = Date.UTC(2026, 0, 1, 12);
const digest = `sha256:${'a'.repeat(64)}` as const;

function instance(id: string, port: number, state: Instance['state'] = 'running'): Instance {
  return {
    id,
    service: 'web',
    revision: 'r1',
    digest,
    state,
    createdAt: now - 600_000,
    ...(state === 'running' ? { startedAt: now - 600_000, address: { host: '127.0.0.1', port } } : {}),
    labels: {},
  };
}

function observed(one: Instance, extra: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    id: one.id,
    revision: one.revision,
    state: one.state,
    createdAt: one.createdAt,
    unhealthy: false,
    ...(one.state === 'running' ? { readySince: now - 590_000 } : {}),
    ...extra,
  };
}

const backend = (port: number, requests: number, inFlightMs: number) => ({
  host: '127.0.0.1',
  port,
  requests,
  inFlight: 0,
  inFlightMs,
});

function door(at: number, backends: FrontDoorLoad['backends']): FrontDoorLoad {
  return { at, backends };
}

describe('instanceSamples: two readings one period apart into HPA samples', () => {
  const a = instance('a', 41000);
  const b = instance('b', 41001);
  const instances = [a, b];
  const seen = (): ReadinessSeen => {
    const readiness: ReadinessSeen = new Map();
    trackReadiness(
      readiness,
      instances,
      instances.map((one) => observed(one)),
      now,
    );
    return readiness;
  };

  it('takes cpu as CPU seconds used over the seconds between, and the door’s rate and average in flight', () => {
    const cpuBefore = new Map<string, InstanceStats>([['a', { cpuSeconds: 10, at: now - 15_000 }]]);
    const cpuNow = new Map<string, InstanceStats>([['a', { cpuSeconds: 16, at: now }]]);
    const previous = readingsOf(cpuBefore, door(now - 15_000, [backend(41000, 100, 5_000)]));
    const current = readingsOf(cpuNow, door(now, [backend(41000, 400, 50_000)]));

    const [sample] = instanceSamples({
      instances,
      observed: instances.map((one) => observed(one)),
      readiness: seen(),
      previous,
      current,
      now,
    });

    assert.deepEqual(sample?.cpu, { used: 0.4, at: now, windowMs: 15_000 }, '6 CPU seconds in 15 s');
    assert.equal(sample?.requestsPerSecond, 20, '300 requests in 15 s');
    assert.equal(sample?.inFlightRequests, 3, '45,000 request-ms over 15,000 ms');
    assert.equal(sample?.readyChangedAt, now - 590_000);
  });

  it('leaves unmeasured an instance the earlier reading lacked, one whose counters went back, and one the door does not serve', () => {
    const previous = readingsOf(
      new Map([['a', { cpuSeconds: 10, at: now - 15_000 }]]),
      door(now - 15_000, [backend(41000, 900, 90_000)]),
    );
    const current = readingsOf(
      new Map([
        ['a', { cpuSeconds: 9, at: now }],
        ['b', { cpuSeconds: 1, at: now }],
      ]),
      // a's backend was forgotten and added again: its counters started from 0.
      door(now, [backend(41000, 5, 100), backend(41001, 50, 1_000)]),
    );

    const samples = instanceSamples({
      instances,
      observed: [observed(a), observed(b, { readySince: undefined })],
      readiness: seen(),
      previous,
      current,
      now,
    });

    for (const sample of samples) {
      assert.equal(sample.cpu, undefined, sample.id);
      assert.equal(sample.requestsPerSecond, undefined, sample.id);
      assert.equal(sample.inFlightRequests, undefined, sample.id);
    }
    assert.equal(samples[1]?.ready, false);
  });

  it('sorts instances into HPA’s phases: created is pending; exited, condemned or held is leaving', () => {
    const created = instance('c', 0, 'created');
    const exited = instance('d', 0, 'exited');
    const condemned = instance('e', 41004);
    const list = [created, exited, condemned, a];
    const samples = instanceSamples({
      instances: list,
      // Out of order: matched by id.
      observed: [observed(a), observed(condemned, { condemned: true }), observed(exited), observed(created)],
      readiness: new Map(),
      previous: readingsOf(new Map(), undefined),
      current: readingsOf(new Map(), undefined),
      now,
    });

    assert.deepEqual(
      samples.map((one) => [one.id, one.phase, one.ready]),
      [
        ['c', 'pending', false],
        ['d', 'leaving', false],
        ['e', 'leaving', true],
        ['a', 'running', true],
      ],
    );
  });
});

describe('trackReadiness', () => {
  it('notes when an instance turned ready or not, and forgets one no longer listed', () => {
    const a = instance('a', 41000);
    const b = instance('b', 41001);
    const seen: ReadinessSeen = new Map();
    trackReadiness(seen, [a, b], [observed(a), observed(b, { readySince: undefined })], now);
    assert.deepEqual(seen.get('a'), { ready: true, changedAt: now - 590_000 });
    assert.deepEqual(
      seen.get('b'),
      { ready: false, changedAt: now - 600_000 },
      'never seen ready: since its start',
    );

    trackReadiness(seen, [a], [observed(a, { unhealthy: true })], now + 15_000);

    assert.deepEqual(seen.get('a'), { ready: false, changedAt: now + 15_000 });
    assert.equal(seen.has('b'), false);
  });
});
