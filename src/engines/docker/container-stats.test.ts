import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../engine.js';
import { instanceStatsFrom } from './container-stats.js';

describe('instanceStatsFrom', () => {
  it('reads the cumulative cpu time in seconds and when the engine read it (podman 4.3 compat)', () => {
    const body = {
      read: '2026-12-03T21:57:39.356695434Z',
      preread: '0001-01-01T00:00:00Z',
      cpu_stats: { cpu_usage: { total_usage: 45_748_159, usage_in_usermode: 29_748_159 } },
      precpu_stats: { cpu_usage: { total_usage: 0 } },
    };

    assert.deepEqual(instanceStatsFrom(body, 'instance abc', 1), {
      cpuSeconds: 0.045748159,
      at: Date.parse('2026-12-03T21:57:39.356Z'),
    });
  });

  it("takes herd's own time when the engine sends the zero time or none", () => {
    const cpu_stats = { cpu_usage: { total_usage: 1e9 } };

    assert.equal(instanceStatsFrom({ read: '0001-01-01T00:00:00Z', cpu_stats }, 'x', 1234).at, 1234);
    assert.equal(instanceStatsFrom({ cpu_stats }, 'x', 1234).at, 1234);
  });

  for (const [what, total] of [
    ['missing', undefined],
    ['a string', '45748159'],
    ['negative', -1],
  ] as const) {
    it(`refuses a body whose total_usage is ${what}, naming the field and the instance`, () => {
      assert.throws(
        () => instanceStatsFrom({ cpu_stats: { cpu_usage: { total_usage: total } } }, 'instance abc', 0),
        (error: unknown) =>
          error instanceof EngineError &&
          error.code === 'OTHER' &&
          /stats of instance abc: expected cpu_stats\.cpu_usage\.total_usage/.test(error.message),
      );
    });
  }
});
