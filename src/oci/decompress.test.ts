import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Compression, decompressChunks, decompressToBuffer, decompressToFile } from './decompress.js';
import { OciError, type OciErrorCode } from './errors.js';

/** Real encoders: zlib for gzip, the xz and zstd commands for the others. */
function compress(data: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(data);
  const command = compression === 'xz' ? ['xz', '-c', '-0'] : ['zstd', '-q', '-c'];
  const result = spawnSync(command[0] as string, command.slice(1), { input: data, maxBuffer: 1 << 28 });
  if (result.error || result.status !== 0) {
    throw new Error(`${command[0]} failed (install it to run this test): ${result.error ?? result.stderr}`);
  }
  return result.stdout;
}

async function assertCode(promise: Promise<unknown>, code: OciErrorCode, mentions: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OciError, `expected an OciError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.includes(mentions), `message should mention ${mentions}: ${error.message}`);
    return true;
  });
}

const formats: Compression[] = ['gzip', 'xz', 'zstd'];

describe('decompressToBuffer', () => {
  for (const compression of formats) {
    it(`round-trips ${compression}`, async () => {
      const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(100_000, 7)]);

      const out = await decompressToBuffer(compress(data, compression), {
        compression,
        name: 'blob',
        maxBytes: data.length,
      });

      assert.ok(out.equals(data));
    });

    it(`stops ${compression} one byte past the cap and names the input and the cap`, async () => {
      const bomb = compress(Buffer.alloc(1_000_001), compression);

      await assertCode(
        decompressToBuffer(bomb, { compression, name: 'layer sha256:ab', maxBytes: 1_000_000 }),
        'DECOMPRESSED_TOO_LARGE',
        'layer sha256:ab decompresses past its limit of 1000000 bytes',
      );
    });

    it(`refuses ${compression} data that is cut short`, async () => {
      const whole = compress(randomBytes(50_000), compression);

      await assertCode(
        decompressToBuffer(whole.subarray(0, whole.length - 20), { compression, name: 'cut', maxBytes: 1e6 }),
        'DECOMPRESS_FAILED',
        `cut is not valid ${compression} data`,
      );
    });
  }

  it('decodes a second time into an exact buffer when the output outgrows what it holds blind', async () => {
    // 40 MiB of zeros: past the 32 MiB held before the size is known, within the cap.
    const data = Buffer.alloc(40 * 1024 ** 2);
    data.write('the end', data.length - 7);

    const out = await decompressToBuffer(compress(data, 'gzip'), {
      compression: 'gzip',
      name: 'zeros',
      maxBytes: 64 * 1024 ** 2,
    });

    assert.equal(out.length, data.length);
    assert.equal(out.subarray(-7).toString(), 'the end');
  });

  it('ignores the size a gzip trailer claims', async () => {
    const gz = compress(Buffer.alloc(200_000), 'gzip');
    gz.writeUInt32LE(100, gz.length - 4);

    await assertCode(
      decompressToBuffer(gz, { compression: 'gzip', name: 'liar', maxBytes: 150_000 }),
      'DECOMPRESSED_TOO_LARGE',
      'liar',
    );
  });

  it('refuses an xz stream whose dictionary needs more memory than the decoder may use', async () => {
    const result = spawnSync('xz', ['-c', '--lzma2=dict=512MiB'], { input: Buffer.alloc(1000) });
    assert.equal(result.status, 0, String(result.stderr));

    await assertCode(
      decompressToBuffer(result.stdout, { compression: 'xz', name: 'greedy.xz', maxBytes: 1e6 }),
      'DECOMPRESS_FAILED',
      'Memory usage limit reached',
    );
  });

  it('refuses a zstd frame whose window needs more memory than the decoder may use', async () => {
    const result = spawnSync('zstd', ['-q', '-c', '--long=30'], { input: Buffer.alloc(1000) });
    assert.equal(result.status, 0, String(result.stderr));

    await assertCode(
      decompressToBuffer(result.stdout, { compression: 'zstd', name: 'greedy.zst', maxBytes: 1e6 }),
      'DECOMPRESS_FAILED',
      'Frame requires too much memory',
    );
  });

  it('says which package to install when a decoder is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assertCode(
        decompressToBuffer(compress(Buffer.from('x'), 'gzip'), {
          compression: 'zstd',
          name: 'a',
          maxBytes: 1,
        }),
        'DECOMPRESS_FAILED',
        'the zstd command is not installed (apt-get install zstd)',
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('decompressChunks', () => {
  it('passes on the error of an input that fails, not a decoding error', async () => {
    const gz = compress(randomBytes(100_000), 'gzip');
    const dropped = new Error('connection reset');
    async function* download() {
      yield gz.subarray(0, 1000);
      throw dropped;
    }

    await assert.rejects(
      (async () => {
        for await (const _ of decompressChunks(download(), {
          compression: 'gzip',
          name: 'x',
          maxBytes: 1e6,
        })) {
        }
      })(),
      (error) => error === dropped,
    );
  });

  it('ends without an error or a stray decoder when the reader stops early', async () => {
    const xz = compress(Buffer.alloc(10 * 1024 ** 2), 'xz');

    for await (const chunk of decompressChunks(xz, { compression: 'xz', name: 'x', maxBytes: 1e9 })) {
      assert.ok(chunk.length > 0);
      break;
    }
  });
});

describe('decompressToFile', () => {
  it('writes the whole output and its sha256, or nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-decompress-'));
    const data = randomBytes(300_000);

    const written = await decompressToFile(compress(data, 'xz'), join(dir, 'ok.tar'), {
      compression: 'xz',
      name: 'ok',
      maxBytes: 1e6,
    });
    const refused = decompressToFile(compress(Buffer.alloc(2e6), 'xz'), join(dir, 'bomb.tar'), {
      compression: 'xz',
      name: 'bomb',
      maxBytes: 1e6,
    });

    assert.ok((await readFile(join(dir, 'ok.tar'))).equals(data));
    assert.equal(written.size, data.length);
    await assertCode(refused, 'DECOMPRESSED_TOO_LARGE', 'bomb');
    assert.deepEqual(await readdir(dir), ['ok.tar']);
  });
});
