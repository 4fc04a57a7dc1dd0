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
import { WorkerFilePool } from './file-pool.js';
import { comparePaths, type FimEntry } from './fim-entry.js';
import { OrderedWindow } from './ordered-window.js';
import { scanTree } from './scan.js';
import { type XattrSource, xattrSourceForHost } from './xattrs.js';

/** Changes waiting for a hash between the merge and the output (fast mode): bounds memory. */
const windowSize = 8192;

export interface FimOptions {
  /** Worker threads; the default is one per core. */
  workers?: number;
  /** Where xattrs are read from; the default is the binding when it loads here. */
  xattrs?: XattrSource;
  now?: () => Date;
}

export async function initBaseline(
  dir: string,
  options: FimOptions & { output: string; signer: Signer; crossMounts?: boolean },
): Promise<{ path: string; entries: number; digest: string; header: BaselineHeader }> {
  const root = await requireDirectory(dir);
  const xattrs = options.xattrs ?? xattrSourceForHost();
  const header: BaselineHeader = {
    kind: 'herd-fim-baseline',
    version: 1,
    root,
    createdAt: (options.now?.() ?? new Date()).toISOString(),
    xattrs: xattrs.support,
    crossMounts: options.crossMounts ?? false,
  };
  const pool = new WorkerFilePool({ xattrs, ...workersOf(options) });
  const writer = await BaselineWriter.create(resolve(options.output), header);
  try {
    // The pool hashes every file as it describes it, so each batch arrives complete, in order.
    for await (const batch of scanTree(root, pool, { crossMounts: header.crossMounts, hash: true })) {
      for (const entry of batch.entries) {
        const flushing = writer.write(entry);
        if (flushing) await flushing;
      }
    }
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
  const xattrs: XattrSource = compareXattrs
    ? (options.xattrs ?? xattrSourceForHost())
    : { support: 'unsupported', reason: 'the baseline records no xattrs' };
  if (xattrs.support === 'unsupported' && compareXattrs) {
    throw new FimError(
      'XATTRS_UNAVAILABLE',
      `baseline ${baseline.path} records xattrs, but this host cannot read them: ${xattrs.reason}`,
    );
  }

  const summary: FimSummary = { added: 0, removed: 0, changed: 0 };
  let reused = 0;
  const pool = new WorkerFilePool({ xattrs, ...workersOf(options) });
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
  /** `now` with its sha256: reused from `old` when the fast mode may, else read by the pool. */
  const hashed = (
    now: FimEntry,
    fsPath: string | Buffer,
    old: FimEntry | undefined,
  ): FimEntry | Promise<FimEntry> => {
    if (now.type !== 'file' || now.sha256 !== undefined || now.unreadable !== undefined) return now;
    if (old !== undefined && mayReuseHash(old, now)) {
      reused++;
      now.sha256 = old.sha256!;
      return now;
    }
    return pool.hash(fsPath, now.size).then((result) => {
      if ('sha256' in result) now.sha256 = result.sha256;
      else now.unreadable = result.error;
      return now;
    });
  };
  const before = new EntryCursor(baseline.entries());
  try {
    await before.fill();
    // With --full the pool hashes every file as it describes it; in the fast mode only the files
    // the baseline cannot vouch for wait for a hash. Only those, a full window and the end of a
    // baseline batch make the merge wait.
    for await (const batch of scanTree(root, pool, {
      crossMounts: baseline.header.crossMounts,
      hash: options.full ?? false,
    })) {
      for (let i = 0; i < batch.entries.length; i++) {
        const now = batch.entries[i]!;
        const fsPath = batch.fsPaths[i]!;
        let old = before.current();
        while (old !== undefined && comparePaths(old.path, now.path) < 0) {
          await window.push({ kind: 'removed', entry: old });
          old = before.advance() ?? (await before.fill());
        }
        let change: FimChange | undefined | Promise<FimChange | undefined>;
        if (old !== undefined && old.path === now.path) {
          const was = old;
          const complete = hashed(now, fsPath, was);
          change =
            complete instanceof Promise
              ? complete.then((entry) => changeOf(was, entry))
              : changeOf(was, complete);
          if (before.advance() === undefined) await before.fill();
        } else {
          const complete = hashed(now, fsPath, undefined);
          change =
            complete instanceof Promise
              ? complete.then((entry): FimChange => ({ kind: 'added', entry }))
              : { kind: 'added', entry: complete };
        }
        const full = window.push(change);
        if (full) await full;
      }
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

function workersOf(options: FimOptions): { workers?: number } {
  return options.workers === undefined ? {} : { workers: options.workers };
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
