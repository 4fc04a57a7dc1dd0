/**
 * Every write the log store makes goes through this role, so a full disk (ENOSPC, EDQUOT) can be
 * simulated in tests and so a failure is seen at one place. Reads use node:fs directly: they do not
 * fail when the disk is full.
 */
import { appendFile, mkdir, rm, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAtomic } from '../common/index.js';

export interface SegmentWriter {
  /** Appends to the file, creating it (and its directory) when missing. May write part of `data`. */
  append(path: string, data: Buffer): Promise<void>;
  /** Cuts the file back to `length` bytes: what a failed append may have left is dropped. */
  truncate(path: string, length: number): Promise<void>;
  /** Temp file, fsync, rename: readers see the old content or the new, never half of it. */
  writeAtomic(path: string, data: string): Promise<void>;
  remove(path: string): Promise<void>;
}

export class FsSegmentWriter implements SegmentWriter {
  async append(path: string, data: Buffer): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await appendFile(path, data, { mode: 0o600 });
  }

  async truncate(path: string, length: number): Promise<void> {
    await truncate(path, length);
  }

  async writeAtomic(path: string, data: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeAtomic(path, data, { sync: true });
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
