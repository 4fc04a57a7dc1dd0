import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { childPidsNamed } from '../../test/support/child-processes.js';
import type { OciError } from './errors.js';
import { igzipChunks, layerEncodingOf } from './igzip.js';

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return Buffer.concat(out);
}

function* cut(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** Compressible and incompressible parts, as a layer's text files and binaries are. */
const layer = Buffer.concat([
  Buffer.from('usr/share/doc/hello/copyright\n'.repeat(40_000)),
  randomBytes(700_000),
  Buffer.from(Array.from({ length: 50_000 }, (_, i) => `line ${i % 977}\n`).join('')),
]);

async function noIgzipLeft(): Promise<void> {
  for (let tries = 0; tries < 50 && childPidsNamed(process.pid, 'igzip').length > 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(childPidsNamed(process.pid, 'igzip'), [], 'an igzip process was left running');
}

/** Runs `run` with PATH set to `path`, and the PATH it had after, however it ends. */
async function withPath(path: string, run: () => Promise<void>): Promise<void> {
  const before = process.env.PATH;
  process.env.PATH = path;
  try {
    await run();
  } finally {
    process.env.PATH = before;
  }
}

describe('igzipChunks', () => {
  it('gives a gzip member of the input, with herd fixed header', async () => {
    const gz = await collect(igzipChunks(cut(layer, 65_536), { level: 3, name: 'layer "test"' }));

    assert.deepEqual(gunzipSync(gz), layer);
    // MTIME 0, FLG 0, XFL 0, OS 255: nothing of the machine or the time in the bytes.
    assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    assert.ok(gz.length < layer.length * 0.6, `compressed to ${gz.length} of ${layer.length}`);
  });

  it('gives the same bytes however the input is cut, and every time', async () => {
    const runs = await Promise.all(
      [1_000, 512, 65_537, layer.length].map((size) =>
        collect(igzipChunks(cut(layer, size), { level: 3, name: 'layer "test"' })),
      ),
    );
    for (const run of runs.slice(1)) assert.ok(run.equals(runs[0]!));
  });

  it('compresses an empty tar and every level', async () => {
    assert.equal(gunzipSync(await collect(igzipChunks([], { level: 3, name: 'empty' }))).length, 0);
    for (const level of [0, 1, 2, 3]) {
      const gz = await collect(igzipChunks(cut(layer, 100_000), { level, name: 'layer "test"' }));
      assert.deepEqual(gunzipSync(gz), layer, `level ${level}`);
    }
  });

  it('refuses a level igzip does not have, naming it', async () => {
    await assert.rejects(collect(igzipChunks([layer], { level: 6, name: 'x' })), (error: OciError) => {
      assert.equal(error.code, 'LAYER_ENCODE_FAILED');
      assert.match(error.message, /no level 6/);
      return true;
    });
  });

  it("throws the input's own failure, and leaves no igzip running", async () => {
    async function* failing() {
      yield layer.subarray(0, 300_000);
      throw new Error('the disk went away');
    }

    await assert.rejects(collect(igzipChunks(failing(), { level: 3, name: 'x' })), /the disk went away/);
    await noIgzipLeft();
  });

  it('stops igzip when the reader stops early, without an unhandled error', async () => {
    const big = Buffer.concat(Array.from({ length: 20 }, () => layer));
    for await (const _ of igzipChunks(cut(big, 65_536), { level: 3, name: 'x' })) break;

    await noIgzipLeft();
  });

  describe('with an igzip that fails or writes something else', () => {
    const bin = mkdtempSync(join(tmpdir(), 'herd-fake-igzip-'));
    after(() => rmSync(bin, { recursive: true, force: true }));
    async function withFakeIgzip(script: string, run: () => Promise<void>): Promise<void> {
      writeFileSync(join(bin, 'igzip'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      await withPath(`${bin}:${process.env.PATH}`, run);
    }

    it('names the layer and what igzip said when it fails halfway', async () => {
      await withFakeIgzip('head -c 100000 >/dev/null; echo "out of memory" >&2; exit 3', async () => {
        await assert.rejects(
          collect(igzipChunks(cut(layer, 65_536), { level: 3, name: 'layer "package: libnode108"' })),
          (error: OciError) => {
            assert.equal(error.code, 'LAYER_ENCODE_FAILED');
            assert.match(error.message, /layer "package: libnode108".*exited with 3: out of memory/);
            return true;
          },
        );
      });
      await noIgzipLeft();
    });

    it('refuses output that does not start as a plain gzip member, and stops igzip', async () => {
      await withFakeIgzip('cat >/dev/null & yes "not gzip at all"', async () => {
        await assert.rejects(
          collect(igzipChunks(cut(layer, 65_536), { level: 3, name: 'x' })),
          (error: OciError) => {
            assert.equal(error.code, 'LAYER_ENCODE_FAILED');
            assert.match(error.message, /header herd does not expect: 6e6f7420/);
            return true;
          },
        );
      });
      await noIgzipLeft();
    });
  });

  describe('without igzip on PATH', () => {
    const empty = mkdtempSync(join(tmpdir(), 'herd-no-igzip-'));
    after(() => rmSync(empty, { recursive: true, force: true }));

    it('says which package to install, naming the layer', async () => {
      await withPath(empty, async () => {
        await assert.rejects(
          collect(igzipChunks([layer], { level: 3, name: 'layer "package: hello"' })),
          (error: OciError) => {
            assert.equal(error.code, 'LAYER_ENCODE_FAILED');
            assert.match(error.message, /layer "package: hello".*apt-get install isal/);
            return true;
          },
        );
      });
    });

    it('asks igzip for its version again once it is installed: a failure is not remembered', async () => {
      // The first call of layerEncodingOf in this file: nothing is remembered yet.
      await withPath(empty, () => assert.rejects(layerEncodingOf(3), /apt-get install isal/));
      assert.match(await layerEncodingOf(3), /^igzip-\d+\.\d+\.\d+-level-3$/);
    });
  });
});

describe('layerEncodingOf', () => {
  it("names igzip's version and the level, for the cache of compressed layers", async () => {
    assert.match(await layerEncodingOf(3), /^igzip-\d+\.\d+\.\d+-level-3$/);
    assert.notEqual(await layerEncodingOf(1), await layerEncodingOf(3));
  });
});
