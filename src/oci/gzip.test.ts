import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { gzipDeterministic } from './gzip.js';

const layer = Buffer.from('usr/bin/node\n'.repeat(10_000));

describe('gzipDeterministic', () => {
  it('gives identical bytes on every run', async () => {
    const [first, second] = await Promise.all([gzipDeterministic(layer), gzipDeterministic(layer)]);

    assert.ok(first.equals(second));
  });

  it('round-trips through gunzip', async () => {
    const gz = await gzipDeterministic(layer, 9);

    assert.ok(gunzipSync(gz).equals(layer));
  });

  it('fixes the header: no flags, mtime 0, XFL from the level, OS 255', async () => {
    const headers = await Promise.all(
      [1, 6, 9].map(async (level) => (await gzipDeterministic(layer, level)).subarray(0, 10)),
    );

    assert.deepEqual(
      headers.map((header) => [...header]),
      [
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255],
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255],
        [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255],
      ],
    );
  });
});
