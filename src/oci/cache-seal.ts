/**
 * The seal on derived data in HERD_HOME/cache: an HMAC-SHA256 under a key that lives outside the
 * cache (HERD_HOME/keys/cache-seal.key, 32 random bytes, mode 0600, made on first use). A hash
 * kept beside cached data proves nothing to someone who can edit both; a seal can only be made by
 * herd, when it derived the data itself from input it had verified. So a restored or shared cache
 * directory (a CI cache, a copied HERD_HOME/cache) is trusted only as far as this key is.
 * The flattened-layer cache seals with it; the builder's unpacked-package cache uses the same key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createExclusive, readRegularFile } from '../common/index.js';
import { OciError } from './errors.js';

const keyBytes = 32;

export class CacheSeal {
  private readonly key: Buffer;

  private constructor(key: Buffer) {
    this.key = key;
  }

  /** Reads the key at `path`, or makes it when there is none (two processes at once agree on one). */
  static async open(path: string): Promise<CacheSeal> {
    const existing = await readKey(path);
    if (existing) return new CacheSeal(existing);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // False when another process made the key first: theirs is kept, and read below.
    await createExclusive(path, randomBytes(keyBytes), { mode: 0o600 });
    const made = await readKey(path);
    if (!made) throw keyInvalid(path, 'vanished while it was made');
    return new CacheSeal(made);
  }

  /** The seal of `text` (hex); `purpose` keeps seals of one kind from passing as another's. */
  seal(purpose: string, text: string): string {
    return createHmac('sha256', this.key).update(`herd cache seal v1\n${purpose}\n${text}`).digest('hex');
  }

  verify(purpose: string, text: string, seal: unknown): boolean {
    if (typeof seal !== 'string' || !/^[0-9a-f]{64}$/.test(seal)) return false;
    return timingSafeEqual(Buffer.from(this.seal(purpose, text), 'hex'), Buffer.from(seal, 'hex'));
  }
}

/** The key, if there is one; anything but a regular file of its size (a FIFO would never answer) is refused. */
async function readKey(path: string): Promise<Buffer | undefined> {
  let read: Awaited<ReturnType<typeof readRegularFile>>;
  try {
    read = await readRegularFile(path, { maxBytes: keyBytes });
  } catch (error) {
    throw keyInvalid(path, `cannot be read (${(error as Error).message})`, error);
  }
  switch (read.kind) {
    case 'missing':
      return undefined;
    case 'not-regular':
      throw keyInvalid(path, `is ${read.what}, not a regular file`);
    case 'too-large':
      throw keyInvalid(path, `is ${read.size} bytes, expected ${keyBytes}`);
    case 'file':
      if (read.bytes.length !== keyBytes) {
        throw keyInvalid(path, `is ${read.bytes.length} bytes, expected ${keyBytes}`);
      }
      return read.bytes;
  }
}

function keyInvalid(path: string, why: string, cause?: unknown): OciError {
  return new OciError(
    'CACHE_KEY_INVALID',
    `the cache seal key ${path} ${why}; delete it to make a new one (cached data, such as unpacked packages, is then derived again)`,
    cause === undefined ? undefined : { cause },
  );
}
