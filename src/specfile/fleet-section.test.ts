import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFleetSection, FleetSection, strategyTypes } from './fleet-section.js';

function problems(input: unknown): string[] {
  const result = FleetSection.safeParse(input);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('the fleet section of herd.yaml', () => {
  it('fills in every default for an empty section', () => {
    assert.deepEqual(FleetSection.parse({}), {
      size: 2,
      strategy: {
        type: 'rolling',
        maxSurge: '25%',
        maxUnavailable: '25%',
        minReadySeconds: 5,
        progressDeadlineSeconds: 120,
        autoRevert: true,
      },
      health: { failureThreshold: 3 },
      resources: { memoryBytes: 256 * 1024 * 1024, cpus: 1, pids: 256 },
      stopGraceSeconds: 10,
      drainSeconds: 5,
    });
    assert.deepEqual(FleetSection.parse({}), defaultFleetSection);
  });

  it('reads a complete section, memory in bytes', () => {
    const section = FleetSection.parse({
      size: 4,
      port: 8080,
      strategy: {
        maxSurge: 1,
        maxUnavailable: '0%',
        minReadySeconds: 0,
        progressDeadlineSeconds: 30,
        autoRevert: false,
      },
      health: { failureThreshold: 5 },
      resources: { memory: '1Gi', cpus: 0.5, pids: 64 },
      stopGraceSeconds: 3,
      drainSeconds: 0,
    });

    assert.deepEqual(section, {
      size: 4,
      port: 8080,
      strategy: {
        type: 'rolling',
        maxSurge: 1,
        maxUnavailable: '0%',
        minReadySeconds: 0,
        progressDeadlineSeconds: 30,
        autoRevert: false,
      },
      health: { failureThreshold: 5 },
      resources: { memoryBytes: 1024 ** 3, cpus: 0.5, pids: 64 },
      stopGraceSeconds: 3,
      drainSeconds: 0,
    });
  });

  it('treats an empty value as left out', () => {
    assert.deepEqual(FleetSection.parse({ size: null, strategy: null }), defaultFleetSection);
  });

  it('reads strategy.type recreate, and names the types it expects otherwise', () => {
    assert.equal(FleetSection.parse({ strategy: { type: 'recreate' } }).strategy.type, 'recreate');

    assert.deepEqual(problems({ strategy: { type: 'canary' } }), [
      `strategy.type: expected one of ${strategyTypes.join(', ')}, got "canary"`,
    ]);
  });

  it('reads maxLifetimeSeconds, and refuses a lifetime under 10 seconds or over a year', () => {
    assert.equal(FleetSection.parse({ maxLifetimeSeconds: 86_400 }).maxLifetimeSeconds, 86_400);

    assert.deepEqual(problems({ maxLifetimeSeconds: 5 }), [
      'maxLifetimeSeconds: expected a number of seconds from 10 to 31536000 (365 days) such as 86400, got 5',
    ]);
    assert.equal(problems({ maxLifetimeSeconds: '1h' }).length, 1);
    assert.equal(problems({ maxLifetimeSeconds: 366 * 86_400 }).length, 1);
  });

  it('names an unknown field and suggests the nearest known one', () => {
    assert.deepEqual(problems({ strategy: { maxSurgee: 1 } }), [
      'strategy.maxSurgee: unknown field "maxSurgee" (did you mean "maxSurge"?)',
    ]);
  });

  it('rejects counts that are neither whole numbers nor percentages up to 100%', () => {
    for (const maxSurge of ['25', '150%', -1, 1.5, '%', true]) {
      const found = problems({ strategy: { maxSurge } });

      assert.equal(found.length, 1, String(maxSurge));
      assert.match(found[0] ?? '', /^strategy\.maxSurge: expected a whole number of instances/);
    }
  });

  it('rejects memory sizes outside 6Mi to 64Gi or without a binary unit', () => {
    for (const memory of ['1Mi', '65Gi', '256MB', '1.5Gi', 'lots']) {
      const found = problems({ resources: { memory } });

      assert.equal(found.length, 1, memory);
      assert.match(found[0] ?? '', /^resources\.memory: expected a memory size from 6Mi to 64Gi/);
    }
  });

  it('sizes /dev/shm only when asked, in bytes, up to the memory limit', () => {
    assert.equal(FleetSection.parse({}).resources.shmBytes, undefined);
    assert.equal(FleetSection.parse({ resources: { shm: '64Mi' } }).resources.shmBytes, 64 * 1024 * 1024);

    assert.deepEqual(problems({ resources: { shm: '32Ki' } }), [
      'resources.shm: expected a /dev/shm size from 64Ki to 64Gi such as 1Mi or 64Mi, got 32768 bytes',
    ]);
    assert.deepEqual(problems({ resources: { memory: '64Mi', shm: '128Mi' } }), [
      'resources.shm: expected a /dev/shm size no larger than the memory limit (67108864 bytes), got 134217728 bytes',
    ]);
  });

  it('rejects a progress deadline within minReadySeconds', () => {
    assert.deepEqual(problems({ strategy: { minReadySeconds: 30, progressDeadlineSeconds: 30 } }), [
      'strategy.progressDeadlineSeconds: expected a deadline greater than minReadySeconds (30), got 30',
    ]);
  });

  it('says what it expected for sizes, ports, cpus and thresholds', () => {
    assert.deepEqual(
      problems({ size: -1, port: 70000, resources: { cpus: 0 }, health: { failureThreshold: 0 } }),
      [
        'size: expected a number of instances from 0 to 10000, got -1',
        'port: expected a host port number from 1 to 65535, got 70000',
        'health.failureThreshold: expected a number of consecutive failed checks from 1 to 100, got 0',
        'resources.cpus: expected a number of CPUs above 0 and at most 256 such as 0.5 or 2, got 0',
      ],
    );
  });
});

describe('the blue-green strategy of the fleet section', () => {
  it('keeps the old fleet 300 s by default, or the bakeSeconds asked for', () => {
    assert.equal(FleetSection.parse({ strategy: { type: 'blue-green' } }).strategy.bakeSeconds, 300);
    assert.equal(
      FleetSection.parse({ strategy: { type: 'blue-green', bakeSeconds: 0 } }).strategy.bakeSeconds,
      0,
    );
    assert.equal(FleetSection.parse({ strategy: { type: 'rolling' } }).strategy.bakeSeconds, undefined);
  });

  it('refuses bakeSeconds with any other strategy, and a bake time out of range', () => {
    assert.deepEqual(problems({ strategy: { bakeSeconds: 30 } }), [
      'strategy.bakeSeconds: expected bakeSeconds only with type: blue-green, got it with type: rolling',
    ]);
    assert.deepEqual(problems({ strategy: { type: 'recreate', bakeSeconds: 30 } }), [
      'strategy.bakeSeconds: expected bakeSeconds only with type: blue-green, got it with type: recreate',
    ]);
    assert.deepEqual(problems({ strategy: { type: 'blue-green', bakeSeconds: 86_401 } }), [
      'strategy.bakeSeconds: expected a number of seconds from 0 to 86400, got 86401',
    ]);
  });
});
