import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duration, durationSeconds } from './schema-fields.js';

describe('durations in herd.yaml', () => {
  it('reads milliseconds, seconds, minutes, hours and days as seconds', () => {
    assert.equal(durationSeconds('500ms'), 0.5);
    assert.equal(durationSeconds('5s'), 5);
    assert.equal(durationSeconds('1.5m'), 90);
    assert.equal(durationSeconds('2h'), 7200);
    assert.equal(durationSeconds('30d'), 2_592_000);
    assert.equal(durationSeconds('0.5d'), 43_200);
  });

  it('takes a duration in days within its range and refuses one outside it or with another unit', () => {
    const age = duration('a duration from 1h to 365d', { min: 3600, max: 365 * 86_400 });

    assert.equal(age.parse('7d'), 604_800);
    for (const text of ['366d', '0d', '7D', '7 d', '7days', '1w', '-1d']) {
      assert.equal(age.safeParse(text).success, false, text);
    }
  });
});
