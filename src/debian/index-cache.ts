/**
 * Packages indexes kept decompressed at HERD_HOME/cache/indexes/sha256/<hex>, named by the sha256
 * that the signed Release gives the uncompressed index. An index whose signed digest has not
 * changed is never downloaded or decompressed again. Every read is hashed again and compared with
 * that digest, so whoever can write the cache cannot change what herd resolves: a changed entry
 * is reported and replaced by a fresh download, never read. Entries are read and written as
 * streams, so a 50 MB index is never held whole.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFile, type RegularFileOpen, writeChunksAtomic } from '../common/index.js';
import type { ReleaseIndexEntry } from './release.js';

/** What the cache has for a signed digest: the verified bytes (all given to the reader), nothing, or an entry not to trust. */
export type IndexCacheLookup = { kind: 'hit' } | { kind: 'miss' } | { kind: 'untrusted'; reason: string };

/** An entry being written: bytes go in as they come; `commit` puts the file in place, `abort` leaves nothing. */
export interface IndexCacheWriter {
  write(chunk: Buffer): void;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Cache files are read in pieces of this size, each given to the reader and then dropped: below
 * glibc's mmap threshold (128 KiB), larger pieces raise it and are then kept in malloc's heap.
 */
const readChunkBytes = 64 * 1024;
/** And written in batches of at least this size, one writev each. */
const writeChunkBytes = 1024 ** 2;

export class PackagesIndexCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /**
   * Streams the cached index the signed Release names to `read`, checked against its size and
   * sha256 as it goes. What `read` was given may be used only on a `hit`: an untrusted entry's
   * bytes were given too (at most the signed size of them), and must be thrown away.
   */
  async read(expected: ReleaseIndexEntry, read: (chunk: Buffer) => void): Promise<IndexCacheLookup> {
    const path = this.pathOf(expected.sha256);
    const hash = createHash('sha256');
    let size = 0;
    // Only a regular file is read: a FIFO, a socket, a device or a link planted here would never
    // end (or never start); it is replaced by a fresh download, as a changed entry is.
    let opened: RegularFileOpen;
    try {
      opened = await openRegularFile(path);
    } catch {
      return { kind: 'miss' };
    }
    if (opened.kind === 'missing') return { kind: 'miss' };
    if (opened.kind === 'not-regular') {
      return {
        kind: 'untrusted',
        reason: `cached package index ${path} is ${opened.what}, not a regular file`,
      };
    }
    const stream = opened.handle.createReadStream({ highWaterMark: readChunkBytes });
    try {
      for await (const chunk of stream) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        // Past the signed size the entry is untrusted anyway: its excess is hashed, never parsed.
        if (size + bytes.length <= expected.size) read(bytes);
        else if (size < expected.size) read(bytes.subarray(0, expected.size - size));
        size += bytes.length;
      }
    } catch {
      // Absent or unreadable: downloaded again, as if never cached. What `read` got is thrown away.
      return { kind: 'miss' };
    }
    const actual = hash.digest('hex');
    if (actual === expected.sha256 && size === expected.size) return { kind: 'hit' };
    return {
      kind: 'untrusted',
      reason:
        `cached package index ${path} does not match its signed digest: got sha256:${actual} ` +
        `(${size} bytes), Release says sha256:${expected.sha256} (${expected.size} bytes)`,
    };
  }

  /**
   * A writer for bytes that will be checked against `sha256` before `commit`; a reader sees the
   * whole file or none.
   */
  async writer(sha256: string): Promise<IndexCacheWriter> {
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    const queue = new ChunkQueue();
    const written = writeChunksAtomic(this.pathOf(sha256), queue.chunks());
    // Held until commit or abort, which report it; never an unhandled rejection meanwhile.
    written.catch(() => undefined);
    return {
      write: (chunk) => queue.push(chunk),
      commit: async () => {
        queue.end();
        await written;
      },
      abort: async () => {
        queue.fail(new Error('index cache entry abandoned'));
        await written.catch(() => undefined);
      },
    };
  }
}

/** Chunks pushed by a producer that does not wait, taken by writeChunksAtomic as they come. */
class ChunkQueue {
  private items: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.items.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= writeChunkBytes) this.signal();
  }

  end(): void {
    this.ended = true;
    this.signal();
  }

  fail(error: Error): void {
    this.failure = error;
    this.items = [];
    this.bytes = 0;
    this.signal();
  }

  async *chunks(): AsyncGenerator<Buffer[]> {
    for (;;) {
      if (this.failure) throw this.failure;
      const items = this.items;
      // Written a mebibyte at a time: a decoder gives 64 KiB pieces, and a write each costs more than the bytes.
      if (items.length > 0 && (this.ended || this.bytes >= writeChunkBytes)) {
        this.items = [];
        this.bytes = 0;
        // As they are, in one writev: a concatenation would be a large buffer, which glibc's malloc keeps.
        yield items;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
