import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatContentRange, parseUploadRange } from './content-range.js';

describe('formatContentRange', () => {
  it('writes an inclusive range without a unit', () => {
    assert.equal(formatContentRange(0, 1024), '0-1023');
    assert.equal(formatContentRange(1024, 1), '1024-1024');
  });

  it('refuses empty chunks and negative offsets', () => {
    assert.throws(() => formatContentRange(0, 0), RangeError);
    assert.throws(() => formatContentRange(-1, 10), RangeError);
  });
});

describe('parseUploadRange', () => {
  it('reads the Range a registry answers, with or without a bytes= prefix', () => {
    assert.deepEqual(parseUploadRange('0-1023'), { start: 0, end: 1023 });
    assert.deepEqual(parseUploadRange('bytes=0-99'), { start: 0, end: 99 });
  });

  it('answers undefined for a missing or malformed range', () => {
    assert.equal(parseUploadRange(null), undefined);
    assert.equal(parseUploadRange('0-'), undefined);
    assert.equal(parseUploadRange('10-2'), undefined);
    assert.equal(parseUploadRange('bytes 0-1/2'), undefined);
  });
});
