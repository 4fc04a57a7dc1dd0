/**
 * `herd fim` for hosts and VMs built from herd images: `initBaseline` records a tree and signs the
 * record; `checkBaseline` verifies the record, walks the tree again and reports what was added,
 * removed or changed. Both stream: the walk, the hashing and the baseline never sit whole in memory.
 */
import type { KeyObject } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Signer } from '../../trust/index.js';
import {
  type BaselineHeader,
  type BaselineLine,
  BaselineWriter,
  entryOfLine,
  openBaseline,
  type VerifiedBaseline,
} from './baseline-file.js';
import { changedAttributes, countChange, type FimChange, type FimSummary, mayReuseHash } from './diff.js';
import { FimError } from './errors.js';
import { type DescribedEntry, entryOf, lineOf, WorkerFilePool } from './file-pool.js';
import { comparePaths, entryHashPart, type FimEntry, recordedHashEnd } from './fim-entry.js';
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
        const flushing = writer.writeLine(`${lineOf(entry)}\n`);
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
  const recorded = (line: BaselineLine) => entryOfLine(line, baseline.path);
  const full = options.full ?? false;
  const before = new LineCursor(baseline.lines());
  try {
    await before.fill();
    // With --full the pool hashes every file as it describes it; in the fast mode only the files
    // the baseline cannot vouch for wait for a hash. Only those, a full window and the end of a
    // baseline batch make the merge wait.
    for await (const batch of scanTree(root, pool, {
      crossMounts: baseline.header.crossMounts,
      hash: full,
    })) {
      for (const live of batch.entries) {
        let old = before.current();
        while (old !== undefined && comparePaths(old.path, live.path) < 0) {
          await window.push({ kind: 'removed', entry: recorded(old) });
          old = before.advance() ?? (await before.fill());
        }
        let change: FimChange | undefined | Promise<FimChange | undefined>;
        if (old !== undefined && old.path === live.path) {
          const unchanged = recordsUnchanged(old, live, { full });
          if (before.advance() === undefined) await before.fill();
          // Most entries of a tree: the line recorded is the live one, byte for byte, so nothing is
          // parsed and no change waits in the window.
          if (unchanged === 'same') continue;
          if (unchanged === 'same, hash reused') {
            reused++;
            continue;
          }
          const was = recorded(old);
          const complete = hashed(entryOf(live), live.fsPath, was);
          change =
            complete instanceof Promise
              ? complete.then((entry) => changeOf(was, entry))
              : changeOf(was, complete);
        } else {
          const complete = hashed(entryOf(live), live.fsPath, undefined);
          change =
            complete instanceof Promise
              ? complete.then((entry): FimChange => ({ kind: 'added', entry }))
              : { kind: 'added', entry: complete };
        }
        const waiting = window.push(change);
        if (waiting) await waiting;
      }
    }
    for (let old = before.current(); old !== undefined; old = before.advance() ?? (await before.fill())) {
      await window.push({ kind: 'removed', entry: recorded(old) });
    }
    await window.flush();
  } finally {
    await before.close();
    await pool.close();
  }
  return { summary, baseline, reused };
}

/**
 * Whether the recorded line says exactly what the live entry says, compared as text, in place:
 * `same` when the line is the live entry's line; in the fast mode, for a regular file not hashed
 * again, `same, hash reused` when it is the live entry's line with a well-formed hash and nothing
 * else added. Size, mtime, ctime and inode are then all unchanged, the condition mayReuseHash
 * (diff.ts) puts on reusing a hash, and so is every compared attribute. Anything else is
 * `different`, which only means the two are parsed and compared field by field
 * (changedAttributes): a recorded line spelled otherwise than herd spells it is never taken as
 * unchanged unread. Pure.
 */
export function recordsUnchanged(
  recorded: BaselineLine,
  live: DescribedEntry,
  options: { full: boolean },
): 'same' | 'same, hash reused' | 'different' {
  const { text, headAt } = recorded;
  // An unreadable file never checks clean; a line whose path is escaped is parsed, not compared.
  if (live.unreadable !== undefined || headAt === undefined || recorded.path !== live.path)
    return 'different';
  const { head, tail } = live;
  const hashAt = headAt + head.length;
  if (!(text.startsWith(head, headAt) && text.endsWith(tail))) return 'different';
  if (options.full || live.type !== 'file' || live.sha256 !== undefined) {
    const hash = entryHashPart(live);
    const same = text.length === hashAt + hash.length + tail.length && text.startsWith(hash, hashAt);
    return same ? 'same' : 'different';
  }
  const same = text.length === (recordedHashEnd(text, hashAt) ?? -1) + tail.length;
  return same ? 'same, hash reused' : 'different';
}

function workersOf(options: FimOptions): { workers?: number } {
  return options.workers === undefined ? {} : { workers: options.workers };
}

/** The baseline's lines one at a time, awaiting only when a batch runs out. */
class LineCursor {
  readonly #source: AsyncGenerator<BaselineLine[]>;
  #batch: BaselineLine[] = [];
  #at = 0;

  constructor(source: AsyncGenerator<BaselineLine[]>) {
    this.#source = source;
  }

  current(): BaselineLine | undefined {
    return this.#batch[this.#at];
  }

  /** The next entry of this batch; `undefined` when the batch is used up and `fill` must be awaited. */
  advance(): BaselineLine | undefined {
    this.#at++;
    return this.#batch[this.#at];
  }

  /** Reads the next batch; `undefined` when the baseline has no more entries. */
  async fill(): Promise<BaselineLine | undefined> {
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
