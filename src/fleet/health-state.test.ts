import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDue, type HealthRecord, recordCheck, uncheckedHealth } from './health-state.js';

const thresholds = { unreadyAfter: 2, failureThreshold: 3 };

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
