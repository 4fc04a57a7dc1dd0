import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gunzipIfCompressed } from './input.js';

async function* chunksOf(...parts: (Buffer | Error)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    yield part;
  }
}

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return Buffer.concat(out);
}

describe('gunzipIfCompressed', () => {
  it('gunzips gzip and passes plain JSON through', async () => {
    const json = Buffer.from('{"openssl": {}}');

    assert.ok((await readAll(gunzipIfCompressed(chunksOf(gzipSync(json)), { name: 'a' }))).equals(json));
    assert.ok((await readAll(gunzipIfCompressed(chunksOf(json), { name: 'b' }))).equals(json));
  });

  it('stops endless gzip data at the cap with VULNDB_TOO_LARGE', async () => {
    const bomb = gzipSync(Buffer.alloc(5_000_000, ' '));

    await assert.rejects(
      readAll(gunzipIfCompressed(chunksOf(bomb), { name: 'json.gz', maxBytes: 1_000_000 })),
      {
        code: 'VULNDB_TOO_LARGE',
        message: 'json.gz decompresses past its limit of 1000000 bytes; refused',
      },
    );
  });

  it('passes on a download that drops halfway as the download error it is', async () => {
    const gz = gzipSync(Buffer.alloc(100_000, '{'));
    const dropped = new Error('download of https://tracker.example/json failed');

    await assert.rejects(
      readAll(gunzipIfCompressed(chunksOf(gz.subarray(0, 500), dropped), { name: 'json.gz' })),
      (error) => error === dropped,
    );
  });
});
