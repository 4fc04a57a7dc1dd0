import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { crc32Portable, gzipBlockSize, gzipChunks, gzipDeterministic } from './gzip.js';

const layer = Buffer.from('usr/bin/node\n'.repeat(10_000));

/** Compressible bytes that are not one repeated run: a few distinct lines, out of step with blocks. */
function textLike(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at++) out[at] = 97 + ((at * 7 + (at >> 9)) % 23);
  return out;
}

/** What `gzip -d` (the command, not zlib) makes of the bytes; -t first checks CRC and size. */
function gunzipByCommand(gz: Buffer): Buffer {
  const test = spawnSync('gzip', ['-t'], { input: gz });
  assert.equal(test.status, 0, `gzip -t refused the member: ${test.stderr}`);
  const result = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0, `gzip -d failed: ${result.stderr}`);
  return result.stdout;
}

const sizes: [string, number][] = [
  ['empty input', 0],
  ['one byte', 1],
  ['one byte short of a block', gzipBlockSize - 1],
  ['exactly one block', gzipBlockSize],
  ['one byte past a block boundary', gzipBlockSize + 1],
  ['exactly three blocks', 3 * gzipBlockSize],
  ['many blocks and a part', 9 * gzipBlockSize + 4321],
];

describe('gzipDeterministic', () => {
  for (const [name, size] of sizes) {
    it(`round-trips ${name} (${size} bytes) through zlib and gzip -d, the same with 1, 2 or 4 blocks at once`, async () => {
      const data = textLike(size);

      const [one, two, four] = await Promise.all([
        gzipDeterministic(data, 6, { parallel: 1 }),
        gzipDeterministic(data, 6, { parallel: 2 }),
        gzipDeterministic(data, 6, { parallel: 4 }),
      ]);

      assert.ok(one.equals(two) && one.equals(four), 'the bytes depend on how many blocks run at once');
      assert.ok(gunzipSync(one).equals(data));
      assert.ok(gunzipByCommand(one).equals(data));
    });
  }

  it('round-trips incompressible bytes over several blocks', async () => {
    const data = randomBytes(3 * gzipBlockSize + 17);

    const gz = await gzipDeterministic(data, 6, { parallel: 3 });

    assert.ok(gunzipSync(gz).equals(data));
    assert.ok(gunzipByCommand(gz).equals(data));
  });

  it('gives each of many streams compressed at once the bytes it gives alone', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => textLike(3 * gzipBlockSize + i * 1000));
    const alone: Buffer[] = [];
    for (const data of inputs) alone.push(await gzipDeterministic(data, 6, { parallel: 1 }));

    const together = await Promise.all(inputs.map((data) => gzipDeterministic(data, 6, { parallel: 4 })));

    for (const [i, gz] of together.entries()) assert.ok(gz.equals(alone[i] as Buffer), `stream ${i} differs`);
  });

  it('gives identical bytes on every run', async () => {
    const [first, second] = await Promise.all([gzipDeterministic(layer), gzipDeterministic(layer)]);

    assert.ok(first.equals(second));
  });

  it("lets a block refer back into the block before it, as one stream's window would", async () => {
    // 16 KiB of noise repeated over four blocks: a block deflated without the previous 32 KiB as
    // its dictionary would have to spell out the noise again, 16 KiB more per block.
    const noise = randomBytes(16 * 1024);
    const data = Buffer.concat(Array.from({ length: (4 * gzipBlockSize) / noise.length }, () => noise));

    const gz = await gzipDeterministic(data, 6);

    assert.ok(gunzipSync(gz).equals(data));
    assert.ok(gz.length < noise.length + 4096, `${gz.length} bytes for 16 KiB of noise repeated`);
  });

  it('depends on the block size, so the block size is part of what a layer digest follows from', async () => {
    const data = textLike(3 * gzipBlockSize);

    const [ours, halves] = await Promise.all([
      gzipDeterministic(data, 6),
      gzipDeterministic(data, 6, { blockSize: gzipBlockSize / 2 }),
    ]);

    assert.ok(gunzipSync(halves).equals(data));
    assert.ok(!ours.equals(halves));
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

  it('ends with the CRC-32 and the size of the input', async () => {
    const data = textLike(2 * gzipBlockSize + 5);

    const gz = await gzipDeterministic(data);

    assert.equal(gz.readUInt32LE(gz.length - 8), crc32(data));
    assert.equal(gz.readUInt32LE(gz.length - 4), data.length);
  });
});

describe('gzipChunks', () => {
  it('passes on the failure of its input, with blocks still deflating', async () => {
    async function* failing() {
      yield textLike(5 * gzipBlockSize);
      throw new Error('the disk went away');
    }

    await assert.rejects(async () => {
      for await (const _ of gzipChunks(failing(), 6, { parallel: 4 })) {
        // drained
      }
    }, /the disk went away/);
  });
});

describe('crc32Portable', () => {
  it("gives zlib's CRC-32, whole or continued piece by piece", () => {
    const data = randomBytes(10_000);

    assert.equal(crc32Portable(data, 0), crc32(data));
    assert.equal(crc32Portable(data.subarray(4000), crc32Portable(data.subarray(0, 4000), 0)), crc32(data));
    assert.equal(crc32Portable(Buffer.alloc(0), 0), 0);
  });
});
