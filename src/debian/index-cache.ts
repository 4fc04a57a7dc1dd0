/**
 * Packages indexes kept decompressed at HERD_HOME/cache/indexes/sha256/<hex>, named by the sha256
 * that the signed Release gives the uncompressed index. An index whose signed digest has not
 * changed is never downloaded or decompressed again. Every read is hashed again and compared with
 * that digest, so whoever can write the cache cannot change what herd resolves: a changed entry
 * is reported and replaced by a fresh download, never read.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, writeAtomic, writeChunksAtomic } from '../common/index.js';
import type { ReleaseIndexEntry } from './release.js';

/** What the cache has for a signed digest: the verified bytes, nothing, or an entry not to trust. */
export type IndexCacheLookup =
  | { kind: 'hit'; bytes: Buffer }
  | { kind: 'miss' }
  | { kind: 'untrusted'; reason: string };

export class PackagesIndexCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** The cached index the signed Release names, checked against its size and sha256. */
  async get(expected: ReleaseIndexEntry): Promise<IndexCacheLookup> {
    const path = this.pathOf(expected.sha256);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return { kind: 'miss' };
    }
    const actual = sha256Hex(bytes);
    if (actual === expected.sha256 && bytes.length === expected.size) return { kind: 'hit', bytes };
    return {
      kind: 'untrusted',
      reason:
        `cached package index ${path} does not match its signed digest: got sha256:${actual} ` +
        `(${bytes.length} bytes), Release says sha256:${expected.sha256} (${expected.size} bytes)`,
    };
  }

  /**
   * Stores bytes already checked against `sha256`, whole or as the pieces they came in; a reader
   * sees the whole file or none.
   */
  async put(sha256: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    if (bytes instanceof Uint8Array) await writeAtomic(this.pathOf(sha256), bytes);
    else await writeChunksAtomic(this.pathOf(sha256), piecesOf(bytes));
  }
}

async function* piecesOf(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}
