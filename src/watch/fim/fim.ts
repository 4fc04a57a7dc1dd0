/**
 * `herd fim` for hosts and VMs built from herd images: `initBaseline` records a tree and signs the
 * record; `checkBaseline` verifies the record, walks the tree again and reports what was added,
 * removed or changed. Both stream: the walk, the hashing and the baseline never sit whole in memory.
 */
import type { KeyObject } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Signer } from '../../trust/index.js';
import { type BaselineHeader, BaselineWriter, openBaseline, type VerifiedBaseline } from './baseline-file.js';
import { changedAttributes, countChange, type FimChange, type FimSummary, mayReuseHash } from './diff.js';
import { FimError } from './errors.js';
import { comparePaths, type FimEntry } from './fim-entry.js';
import { WorkerHashPool } from './hash-pool.js';
import { OrderedWindow } from './ordered-window.js';
import { completeEntry } from './scan.js';
import { walkTree } from './walk.js';
import { NoXattrReader, type XattrReader, xattrReaderForHost } from './xattrs.js';

/** Entries in flight between the walk and the output: bounds memory, and keeps every core busy. */
const windowSize = 8192;

export interface FimOptions {
  /** Hash threads; the default is one per core. */
  workers?: number;
  /** Injected for tests; the default reads with getfattr when the host has it. */
  xattrs?: XattrReader;
  now?: () => Date;
}

export async function initBaseline(
  dir: string,
  options: FimOptions & { output: string; signer: Signer; crossMounts?: boolean },
): Promise<{ path: string; entries: number; digest: string; header: BaselineHeader }> {
  const root = await requireDirectory(dir);
  const xattrs = options.xattrs ?? xattrReaderForHost();
  const header: BaselineHeader = {
    kind: 'herd-fim-baseline',
    version: 1,
    root,
    createdAt: (options.now?.() ?? new Date()).toISOString(),
    xattrs: xattrs.support,
    crossMounts: options.crossMounts ?? false,
  };
  const pool = new WorkerHashPool(options.workers === undefined ? {} : { workers: options.workers });
  const writer = await BaselineWriter.create(resolve(options.output), header);
  try {
    const window = new OrderedWindow<FimEntry>(windowSize, (entry) => writer.write(entry));
    for await (const walked of walkTree(root, { crossMounts: header.crossMounts })) {
      await window.push(completeEntry(walked, { pool, xattrs }));
    }
    await window.flush();
    const written = await writer.finish(options.signer, header);
    return { ...written, header };
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    await pool.close();
    await xattrs.close();
  }
}

export interface CheckResult {
  summary: FimSummary;
  baseline: VerifiedBaseline;
  /** Files whose hash was reused from the baseline (fast mode) rather than read again. */
  reused: number;
}

/**
 * Verifies the baseline with `keys`, then merges it with a fresh walk. Changes are handed to
 * `onChange` in path order as they are found. With `full`, every regular file is hashed again, as
 * AIDE does; without it, a file whose size, mtime, ctime and inode are unchanged keeps its hash.
 */
export async function checkBaseline(
  dir: string,
  options: FimOptions & {
    baseline: string;
    keys: readonly KeyObject[];
    full?: boolean;
    onChange?: (change: FimChange) => void;
  },
): Promise<CheckResult> {
  const root = await requireDirectory(dir);
  if (options.keys.length === 0) {
    throw new FimError(
      'NO_TRUSTED_KEYS',
      'no key to verify the baseline with: expected one in HERD_HOME/keys/trusted',
    );
  }
  const baseline = await openBaseline(resolve(options.baseline), options.keys);
  if (baseline.header.root !== root) {
    throw new FimError(
      'BASELINE_ROOT_MISMATCH',
      `baseline ${baseline.path} describes ${baseline.header.root}, not ${root}`,
    );
  }
  let xattrs = options.xattrs ?? xattrReaderForHost();
  if (baseline.header.xattrs !== 'unsupported' && xattrs.support === 'unsupported') {
    throw new FimError(
      'XATTRS_UNAVAILABLE',
      `baseline ${baseline.path} records xattrs, but this host cannot read them: install the attr package (getfattr)`,
    );
  }
  // Compare like with like: xattrs only when the baseline recorded them.
  const compareXattrs = baseline.header.xattrs !== 'unsupported';
  if (!compareXattrs) {
    await xattrs.close();
    xattrs = new NoXattrReader();
  }

  const summary: FimSummary = { added: 0, removed: 0, changed: 0 };
  let reused = 0;
  const pool = new WorkerHashPool(options.workers === undefined ? {} : { workers: options.workers });
  const window = new OrderedWindow<FimChange | undefined>(windowSize, (change) => {
    if (!change) return;
    countChange(summary, change);
    options.onChange?.(change);
  });
  const removed = (entry: FimEntry) => window.push(Promise.resolve({ kind: 'removed', entry }));
  const before = baseline.entries();
  try {
    let next = await before.next();
    for await (const walked of walkTree(root, { crossMounts: baseline.header.crossMounts })) {
      while (!next.done && comparePaths(next.value.path, walked.entry.path) < 0) {
        await removed(next.value);
        next = await before.next();
      }
      if (!next.done && next.value.path === walked.entry.path) {
        const old = next.value;
        const reuse = !options.full && mayReuseHash(old, walked.entry);
        if (reuse) reused++;
        const completed = completeEntry(walked, { pool, xattrs }, reuse ? { reuseSha256: old.sha256! } : {});
        await window.push(
          completed.then((now): FimChange | undefined => {
            const attributes = changedAttributes(old, now, { compareXattrs });
            return attributes.length > 0
              ? { kind: 'changed', before: old, after: now, attributes }
              : undefined;
          }),
        );
        next = await before.next();
      } else {
        await window.push(
          completeEntry(walked, { pool, xattrs }).then((entry) => ({ kind: 'added', entry })),
        );
      }
    }
    while (!next.done) {
      await removed(next.value);
      next = await before.next();
    }
    await window.flush();
  } finally {
    await before.return(undefined);
    await pool.close();
    await xattrs.close();
  }
  return { summary, baseline, reused };
}

/** The tree's real path: a baseline names one directory, however it was reached. */
async function requireDirectory(dir: string): Promise<string> {
  const root = resolve(dir);
  try {
    if ((await stat(root)).isDirectory()) return await realpath(root);
  } catch {
    // reported below
  }
  throw new FimError(
    'DIR_INVALID',
    `${root} is not a directory: expected the root of the tree to record or check`,
  );
}
