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
  /** Injected for tests; the default reads by system call when the binding loads. */
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
    for (const walked of walkTree(root, { crossMounts: header.crossMounts })) {
      const full = window.push(completeEntry(walked, { pool, xattrs }));
      if (full) await full;
    }
    await window.flush();
    const written = await writer.finish(options.signer, header);
    return { ...written, header };
  } catch (error) {
    await writer.abort();
    throw error;
  } finally {
    await pool.close();
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
  // Compare like with like: xattrs only when the baseline recorded them.
  const compareXattrs = baseline.header.xattrs !== 'unsupported';
  const xattrs = compareXattrs ? (options.xattrs ?? xattrReaderForHost()) : new NoXattrReader();
  if (compareXattrs && xattrs.support === 'unsupported') {
    throw new FimError(
      'XATTRS_UNAVAILABLE',
      `baseline ${baseline.path} records xattrs, but this host cannot read them: ${xattrs.reason ?? 'no reader'}`,
    );
  }

  const summary: FimSummary = { added: 0, removed: 0, changed: 0 };
  let reused = 0;
  const pool = new WorkerHashPool(options.workers === undefined ? {} : { workers: options.workers });
  const window = new OrderedWindow<FimChange | undefined>(windowSize, (change) => {
    if (!change) return undefined;
    countChange(summary, change);
    options.onChange?.(change);
    return undefined;
  });
  const changeOf = (old: FimEntry, now: FimEntry): FimChange | undefined => {
    const attributes = changedAttributes(old, now, { compareXattrs });
    return attributes.length > 0 ? { kind: 'changed', before: old, after: now, attributes } : undefined;
  };
  const before = new EntryCursor(baseline.entries());
  try {
    await before.fill();
    // Only a full window or the end of a baseline batch makes the loop wait: the walk itself and
    // the entries known at once cost no promise.
    for (const walked of walkTree(root, { crossMounts: baseline.header.crossMounts })) {
      let old = before.current();
      while (old !== undefined && comparePaths(old.path, walked.entry.path) < 0) {
        await window.push({ kind: 'removed', entry: old });
        old = before.advance() ?? (await before.fill());
      }
      let completed: FimChange | undefined | Promise<FimChange | undefined>;
      if (old !== undefined && old.path === walked.entry.path) {
        const was = old;
        const reuse = !options.full && mayReuseHash(was, walked.entry);
        if (reuse) reused++;
        const now = completeEntry(walked, { pool, xattrs }, reuse ? { reuseSha256: was.sha256! } : {});
        completed = now instanceof Promise ? now.then((entry) => changeOf(was, entry)) : changeOf(was, now);
        if (before.advance() === undefined) await before.fill();
      } else {
        const now = completeEntry(walked, { pool, xattrs });
        completed =
          now instanceof Promise
            ? now.then((entry): FimChange => ({ kind: 'added', entry }))
            : { kind: 'added', entry: now };
      }
      const full = window.push(completed);
      if (full) await full;
    }
    for (let old = before.current(); old !== undefined; old = before.advance() ?? (await before.fill())) {
      await window.push({ kind: 'removed', entry: old });
    }
    await window.flush();
  } finally {
    await before.close();
    await pool.close();
  }
  return { summary, baseline, reused };
}

/** The baseline's entries one at a time, awaiting only when a batch runs out. */
class EntryCursor {
  readonly #source: AsyncGenerator<FimEntry[]>;
  #batch: FimEntry[] = [];
  #at = 0;

  constructor(source: AsyncGenerator<FimEntry[]>) {
    this.#source = source;
  }

  current(): FimEntry | undefined {
    return this.#batch[this.#at];
  }

  /** The next entry of this batch; `undefined` when the batch is used up and `fill` must be awaited. */
  advance(): FimEntry | undefined {
    this.#at++;
    return this.#batch[this.#at];
  }

  /** Reads the next batch; `undefined` when the baseline has no more entries. */
  async fill(): Promise<FimEntry | undefined> {
    if (this.#at < this.#batch.length) return this.#batch[this.#at];
    const next = await this.#source.next();
    this.#batch = next.done ? [] : next.value;
    this.#at = 0;
    return this.#batch[0];
  }

  async close(): Promise<void> {
    await this.#source.return(undefined);
  }
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
