import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkDue,
  type HealthRecord,
  isStarting,
  recordCheck,
  startupProbeMs,
  startupWindowMs,
  uncheckedHealth,
} from './health-state.js';

const thresholds = { unreadyAfter: 2, failureThreshold: 3, startupWindowMs: 2000 };

function run(results: boolean[], start: HealthRecord = uncheckedHealth): HealthRecord {
  return results.reduce(
    (record, passed, index) => recordCheck(record, { passed, at: 1000 * (index + 1), thresholds }),
    start,
  );
}

describe('health state', () => {
  it('turns ready at the first passing check and remembers since when', () => {
    const record = run([false, true, true]);

    assert.equal(record.readySince, 2000);
    assert.equal(record.unhealthy, false);
  });

  it('stays ready through fewer failures in a row than unreadyAfter', () => {
    assert.equal(run([true, false]).readySince, 1000);
    assert.equal(run([true, false, false]).readySince, undefined);
  });

  it('marks an instance unhealthy after failureThreshold failures in a row, and only in a row', () => {
    assert.equal(run([true, false, false, true, false, false]).unhealthy, false);
    assert.equal(run([true, false, false, false]).unhealthy, true);
  });

  it('keeps an unhealthy instance unhealthy: it is replaced, never revived', () => {
    assert.equal(run([false, false, false, true]).unhealthy, true);
  });

  it('checks again once the interval has passed', () => {
    const record = run([true]);

    assert.equal(checkDue(uncheckedHealth, { now: 0, intervalSeconds: 10 }), true);
    assert.equal(checkDue(record, { now: 10_999, intervalSeconds: 10 }), false);
    assert.equal(checkDue(record, { now: 11_000, intervalSeconds: 10 }), true);
  });
});

describe('health state while starting', () => {
  const window = { unreadyAfter: 3, failureThreshold: 3, startupWindowMs: 30_000 };
  const failAt = (record: HealthRecord, at: number) =>
    recordCheck(record, { passed: false, at, thresholds: window });

  it('checks a starting instance every 250 ms, and at the interval once it passed', () => {
    const failed = failAt(uncheckedHealth, 0);
    const passed = recordCheck(failed, { passed: true, at: 250, thresholds: window });

    assert.equal(startupProbeMs, 250);
    assert.equal(checkDue(failed, { now: 249, intervalSeconds: 10 }), false);
    assert.equal(checkDue(failed, { now: 250, intervalSeconds: 10 }), true);
    assert.equal(isStarting(passed), false);
    assert.equal(checkDue(passed, { now: 500, intervalSeconds: 10 }), false);
    assert.equal(checkDue(passed, { now: 10_250, intervalSeconds: 10 }), true);
  });

  it('keeps the interval when it is shorter than the startup pace', () => {
    const failed = failAt(uncheckedHealth, 0);

    assert.equal(checkDue(failed, { now: 100, intervalSeconds: 0.1 }), true);
  });

  it('counts no failure against a starting instance until its window is over', () => {
    let record = uncheckedHealth;
    for (let at = 0; at < 30_000; at += 250) record = failAt(record, at);

    assert.equal(record.unhealthy, false, 'still within failureThreshold × interval');
    assert.equal(record.startingSince, 0);
    assert.equal(failAt(record, 30_000).unhealthy, true, 'it never started');
  });

  it('is ready at its first pass after failures while starting, and counts failures normally from then on', () => {
    let record = uncheckedHealth;
    for (let at = 0; at < 2000; at += 250) record = failAt(record, at);
    record = recordCheck(record, { passed: true, at: 2000, thresholds: window });

    assert.equal(record.readySince, 2000);
    assert.equal(record.startingSince, undefined);
    assert.equal(failAt(failAt(record, 12_000), 22_000).readySince, 2000);
    assert.equal(failAt(failAt(failAt(record, 12_000), 22_000), 32_000).unhealthy, true);
  });

  it('gives a starting instance failureThreshold intervals, as the spec checks would have', () => {
    assert.equal(startupWindowMs({ intervalSeconds: 10 }, 3), 30_000);
  });
});
