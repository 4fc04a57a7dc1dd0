/**
 * Turns walked entries into complete ones: the xattrs when the host can read them (read here, in
 * the walk's thread, by system call) and the sha256 of regular files (from the pool, or reused from
 * the baseline when the caller decided so). Only an entry that waits for a hash is a promise: the
 * many directories, links and reused files of a fast check cost none.
 */
import type { FimEntry } from './fim-entry.js';
import type { HashResult, WorkerHashPool } from './hash-pool.js';
import type { WalkedEntry } from './walk.js';
import type { XattrReader } from './xattrs.js';

export interface Completer {
  pool: WorkerHashPool;
  xattrs: XattrReader;
}

export function completeEntry(
  walked: WalkedEntry,
  parts: Completer,
  options: { reuseSha256?: string } = {},
): FimEntry | Promise<FimEntry> {
  const entry: FimEntry = walked.entry;
  const xattrs = parts.xattrs.read(walked.fsPath);
  if (xattrs !== undefined) entry.xattrs = xattrs;
  if (entry.type !== 'file') return entry;
  if (options.reuseSha256 !== undefined) {
    entry.sha256 = options.reuseSha256;
    return entry;
  }
  return parts.pool.hash(walked.fsPath, entry.size).then((hashed) => withHash(entry, hashed));
}

function withHash(entry: FimEntry, hashed: HashResult): FimEntry {
  if ('sha256' in hashed) entry.sha256 = hashed.sha256;
  else entry.unreadable = hashed.error;
  return entry;
}
