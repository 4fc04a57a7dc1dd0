/**
 * The store's write lock. index.json and referrers.json are read, changed and renamed over; two
 * writers at once (a `herd sign` beside a running control plane storing drift evidence) would
 * each write back what it read and one's entry would vanish. A lock file created with O_EXCL
 * serializes them across processes. A lock left by a writer that died (older than `staleMs`) is
 * taken over, so a crash never wedges the store; so is one whose writer, named by the pid in the
 * file, is no longer running on this host (a kill -9 mid-write must not stall the next writer).
 */
import { open, rm, stat } from 'node:fs/promises';
import { readRegularFile } from '../common/index.js';
import { OciError } from './errors.js';

export interface StoreLockOptions {
  /** Give up after this long; default 30 s. */
  timeoutMs?: number;
  /** A lock older than this belongs to a writer that died; default 60 s (a write takes milliseconds). */
  staleMs?: number;
}

export async function withStoreLock<T>(
  lockPath: string,
  work: () => Promise<T>,
  options: StoreLockOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const staleMs = options.staleMs ?? 60_000;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(lockPath).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    if (age > staleMs || (await holderIsGone(lockPath))) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new OciError('STORE_LOCKED', `the store is locked by another writer (${lockPath}); try again`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  try {
    return await work();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * Whether the pid written in the lock file names no running process. An unreadable, empty or
 * half-written file (the holder may be writing it right now) counts as held: only age frees it.
 * Anything but a regular file (a FIFO would never answer a read) is no writer's lock: taken over.
 */
async function holderIsGone(lockPath: string): Promise<boolean> {
  const read = await readRegularFile(lockPath, { maxBytes: 64 }).catch(() => undefined);
  if (read?.kind === 'not-regular') return true;
  const text = read?.kind === 'file' ? read.bytes.toString('utf8') : '';
  if (!/^\d+\n$/.test(text)) return false;
  const pid = Number(text.trim());
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
