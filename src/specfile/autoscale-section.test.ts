import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { FleetSection } from './fleet-section.js';
import { parseSpecText } from './load.js';

function problems(autoscale: unknown): string[] {
  const result = FleetSection.safeParse({ autoscale });
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const minimalSpec = (fleet: string) => `apiVersion: herd/v1
service: web
image:
  suite: bookworm
  packages: [busybox]
run:
  user: { name: app, uid: 10001, gid: 10001 }
  entrypoint: [/bin/busybox, httpd, -f]
${fleet}`;

describe('the fleet.autoscale section of herd.yaml', () => {
  it('is absent unless written, so a fleet keeps its size', () => {
    assert.equal('autoscale' in FleetSection.parse({}), false);
  });

  it('fills in HPA’s defaults: min 1, cpu at 80%, a decision every 15 s, no scale-up window, 300 s down', () => {
    assert.deepEqual(FleetSection.parse({ autoscale: { max: 6 } }).autoscale, {
      min: 1,
      max: 6,
      metrics: [{ kind: 'cpu', averageUtilization: 80 }],
      syncPeriodSeconds: 15,
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0 },
        scaleDown: { stabilizationWindowSeconds: 300 },
      },
    });
  });

  it('reads every metric, the sync period and both windows', () => {
    const section = FleetSection.parse({
      autoscale: {
        min: 2,
        max: 10,
        metrics: [
          { type: 'cpu', averageUtilization: 70 },
          { type: 'requestsPerSecond', averageValue: 50 },
          { type: 'inFlightRequests', averageValue: 2.5 },
        ],
        syncPeriodSeconds: 2,
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 30 },
          scaleDown: { stabilizationWindowSeconds: 60 },
        },
      },
    });

    assert.deepEqual(section.autoscale, {
      min: 2,
      max: 10,
      metrics: [
        { kind: 'cpu', averageUtilization: 70 },
        { kind: 'requestsPerSecond', averageValue: 50 },
        { kind: 'inFlightRequests', averageValue: 2.5 },
      ],
      syncPeriodSeconds: 2,
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 30 },
        scaleDown: { stabilizationWindowSeconds: 60 },
      },
    });
  });

  it('needs max, as HPA needs maxReplicas', () => {
    assert.deepEqual(problems({ min: 2 }), [
      'autoscale.max: expected a number of instances from 1 to 10000 for max, got nothing',
    ]);
  });

  it('refuses a max below min, at max', () => {
    assert.deepEqual(problems({ min: 5, max: 3 }), [
      'autoscale.max: expected max to be at least min (5), got 3',
    ]);
  });

  it('refuses a min of 0 or bounds above 10000', () => {
    assert.deepEqual(problems({ min: 0, max: 20_000 }), [
      'autoscale.min: expected a number of instances from 1 to 10000 for min, got 0',
      'autoscale.max: expected a number of instances from 1 to 10000 for max, got 20000',
    ]);
  });

  it('names an unknown metric type and lists the known ones', () => {
    assert.deepEqual(problems({ max: 4, metrics: [{ type: 'memory', averageUtilization: 50 }] }), [
      'autoscale.metrics.0.type: expected one of cpu, requestsPerSecond, inFlightRequests, got "memory"',
    ]);
  });

  it('asks cpu for averageUtilization and the front door’s metrics for averageValue', () => {
    assert.deepEqual(
      problems({
        max: 4,
        metrics: [
          { type: 'cpu', averageValue: 5 },
          { type: 'requestsPerSecond', averageUtilization: 50 },
        ],
      }),
      [
        'autoscale.metrics.0.averageUtilization: expected averageUtilization for a cpu metric, got nothing',
        'autoscale.metrics.0.averageValue: expected averageUtilization for a cpu metric, got averageValue (not for cpu)',
        'autoscale.metrics.1.averageValue: expected averageValue for a requestsPerSecond metric, got nothing',
        'autoscale.metrics.1.averageUtilization: expected averageValue for a requestsPerSecond metric, got averageUtilization (cpu only)',
      ],
    );
  });

  it('refuses targets out of range', () => {
    assert.deepEqual(
      problems({
        max: 4,
        metrics: [
          { type: 'cpu', averageUtilization: 150 },
          { type: 'inFlightRequests', averageValue: 0 },
        ],
      }),
      [
        'autoscale.metrics.0.averageUtilization: expected a whole percent of the cpu limit from 1 to 100 such as 70, got 150',
        'autoscale.metrics.1.averageValue: expected a number above 0 and at most 1000000 such as 50 or 0.5, got 0',
      ],
    );
  });

  it('refuses a metric listed twice, at the second', () => {
    assert.deepEqual(
      problems({
        max: 4,
        metrics: [
          { type: 'requestsPerSecond', averageValue: 5 },
          { type: 'requestsPerSecond', averageValue: 9 },
        ],
      }),
      ['autoscale.metrics.1: metric requestsPerSecond is listed twice (also at [0])'],
    );
  });

  it('refuses an empty metrics list, unknown fields, a sync period of 0 and windows above an hour', () => {
    assert.deepEqual(
      problems({
        max: 4,
        metrics: [],
        minReplicas: 1,
        behavior: { scaleDown: { stabilizationWindowSeconds: 7200 } },
        syncPeriodSeconds: 0,
      }),
      [
        'autoscale.metrics: expected a list of metrics, got an empty list',
        'autoscale.syncPeriodSeconds: expected a number of seconds from 1 to 300, got 0',
        'autoscale.behavior.scaleDown.stabilizationWindowSeconds: expected a number of seconds from 0 to 3600, got 7200',
        'autoscale.minReplicas: unknown field "minReplicas" (known fields: min, max, metrics, syncPeriodSeconds, behavior)',
      ],
    );
  });

  it('reports a problem in herd.yaml at its line, naming the field', () => {
    const text = minimalSpec(
      'fleet:\n  autoscale:\n    max: 4\n    metrics:\n      - type: cpu\n        averageUtilization: 0\n',
    );

    assert.throws(
      () => parseSpecText(text, 'herd.yaml'),
      (error: unknown) =>
        error instanceof SpecError &&
        error.code === 'SPEC_INVALID' &&
        /^herd\.yaml:14:29: fleet\.autoscale\.metrics\[0\]\.averageUtilization: expected a whole percent/m.test(
          error.message,
        ),
    );
  });

  it('reads a valid section from herd.yaml into the spec', () => {
    const text = minimalSpec(
      'fleet:\n  size: 2\n  autoscale: { min: 2, max: 8, metrics: [{ type: requestsPerSecond, averageValue: 100 }] }\n',
    );

    const spec = parseSpecText(text, 'herd.yaml');

    assert.deepEqual(spec.fleet.autoscale?.metrics, [{ kind: 'requestsPerSecond', averageValue: 100 }]);
    assert.equal(spec.fleet.size, 2);
  });
});
