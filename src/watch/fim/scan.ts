/**
 * Turns walked entries into complete ones: the sha256 of regular files (from the pool, or reused
 * from the baseline when the caller decided so) and the xattrs when the host can read them.
 */
import type { FimEntry } from './fim-entry.js';
import type { WorkerHashPool } from './hash-pool.js';
import type { WalkedEntry } from './walk.js';
import type { XattrReader } from './xattrs.js';

export interface Completer {
  pool: WorkerHashPool;
  xattrs: XattrReader;
}

export async function completeEntry(
  walked: WalkedEntry,
  parts: Completer,
  options: { reuseSha256?: string } = {},
): Promise<FimEntry> {
  const entry: FimEntry = { ...walked.entry };
  const hashing =
    entry.type !== 'file'
      ? undefined
      : options.reuseSha256 !== undefined
        ? Promise.resolve({ sha256: options.reuseSha256 })
        : parts.pool.hash(walked.fsPath, entry.size);
  const xattrs = parts.xattrs.support === 'unsupported' ? undefined : parts.xattrs.read(walked.fsPath);
  const hashed = await hashing;
  if (hashed) {
    if ('sha256' in hashed) entry.sha256 = hashed.sha256;
    else entry.unreadable = hashed.error;
  }
  const found = await xattrs;
  if (found && Object.keys(found).length > 0) entry.xattrs = found;
  return entry;
}
