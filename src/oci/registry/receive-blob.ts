/**
 * Streams a blob from a registry into the store, hashing as it writes. The bytes land in a temp
 * file beside their final name and are renamed into place only when their size and sha256 match
 * the descriptor, so the store never holds a blob under a digest its content does not have.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { LayoutStore } from '../layout-store.js';
import type { Digest } from '../types.js';
import { RegistryError } from './errors.js';

export async function receiveBlob(
  store: LayoutStore,
  options: { body: ReadableStream<Uint8Array>; expected: { digest: Digest; size: number } },
): Promise<void> {
  const { body, expected } = options;
  const path = store.blobPath(expected.digest);
  const temp = `${path}.pull-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  let received = 0;
  const tooLong = new RegistryError(
    'DIGEST_MISMATCH',
    `blob ${expected.digest}: registry sent more than the ${expected.size} bytes its descriptor says`,
  );
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.byteLength;
      if (received > expected.size) return done(tooLong);
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(body as NodeReadableStream<Uint8Array>),
      measure,
      createWriteStream(temp, { mode: 0o600 }),
    );
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(
      'PROTOCOL_ERROR',
      `blob ${expected.digest}: the download was cut off after ${received} of ${expected.size} bytes`,
    );
  }
  const actual: Digest = `sha256:${hash.digest('hex')}`;
  if (received !== expected.size || actual !== expected.digest) {
    await rm(temp, { force: true });
    throw new RegistryError(
      'DIGEST_MISMATCH',
      `blob ${expected.digest}: registry sent ${received} bytes that hash to ${actual}, expected ${expected.size} bytes hashing to ${expected.digest}`,
    );
  }
  await rename(temp, path);
}
