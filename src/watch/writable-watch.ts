/**
 * The fast path's look at the writable paths of running instances, at a bounded cost. Every pass
 * lists each path's entries with their metadata (list-writable.ts) and judges every new or
 * changed entry by it (`judgeWritableEntry`: executables, setuid files, device nodes), so a new
 * executable is found in the pass that first lists it. Content is read only for regular files
 * that are new or changed (by size, mtime, mode, owner, inode and ctime), and only their first
 * bytes (`judgeWritableContent`), so a file that does not change costs nothing after its first look.
 *
 * Each instance has a byte budget per pass. Listing spends it (per entry, or the archive's bytes
 * where the engine cannot list), then content looks spend what is left; files that did not get
 * their look wait, in the order they appeared, for the next pass: none is skipped. A listing that
 * costs more than a pass's budget leaves a debt, repaid one budget per pass before the next
 * listing, and never more than `maxDebtPasses` passes' worth: a huge path is still listed every
 * few seconds, never forgotten.
 */
import type { Logger } from '../common/index.js';
import type { Engine } from '../engines/index.js';
import { EngineError } from '../engines/index.js';
import type { DriftFinding } from './findings.js';
import { type ListedEntry, listWritable, lookAt } from './list-writable.js';
import { judgeWritableEntry } from './scan-writable.js';
import { judgeWritableContent, sniffBytes } from './writable-content.js';

export interface WritableWatchOptions {
  engine: Engine;
  /** Per instance per pass; default {@link defaultWritableBudgetBytes}. */
  budgetBytes?: number;
  /** Entries a writable path may hold before it is drift in itself; default {@link maxWritableEntries}. */
  maxEntries?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

/** 4 MiB: about 4,000 listed entries, or the first bytes of some 60 new files through the archive. */
export const defaultWritableBudgetBytes = 4 * 1024 * 1024;
/** A path with more entries than this cannot be watched every second: the instance is replaced. */
export const maxWritableEntries = 100_000;
/** The share of a pass's budget that content looks have even after a listing spent all of it. */
export const lookShare = 1 / 4;
/** The most passes a costly listing may put off the next one. */
export const maxDebtPasses = 10;

interface InstanceState {
  /** Every entry listed last time, by path: the key that tells a changed entry from an unchanged one. */
  seen: Map<string, string>;
  /** Regular files waiting for their content look, in the order they appeared. */
  pending: Map<string, { root: string }>;
  /** Budget left this pass; below zero while a costly listing is repaid. */
  credit: number;
  /** Whether the log said that this instance's paths are read through the archive. */
  saidArchive: boolean;
}

/** What one pass did for one instance, for tests and the bench. */
export interface WritablePass {
  findings: DriftFinding[];
  listed: boolean;
  looks: string[];
  spentBytes: number;
  pending: number;
}

export class WritableWatch {
  private readonly states = new Map<string, InstanceState>();
  private readonly budget: number;
  private readonly maxEntries: number;

  constructor(private readonly options: WritableWatchOptions) {
    this.budget = options.budgetBytes ?? defaultWritableBudgetBytes;
    this.maxEntries = options.maxEntries ?? maxWritableEntries;
  }

  /** One pass over the writable `roots` of instance `id`. */
  async check(id: string, roots: readonly string[], signal?: AbortSignal): Promise<WritablePass> {
    const state = this.stateOf(id);
    state.credit = Math.min(this.budget, state.credit + this.budget);
    const pass: WritablePass = { findings: [], listed: false, looks: [], spentBytes: 0, pending: 0 };
    const spend = (bytes: number) => {
      state.credit -= bytes;
      pass.spentBytes += bytes;
    };
    if (state.credit <= 0) return this.finish(pass, state);

    const listedNow = new Set<string>();
    for (const root of roots) {
      const listing = await listWritable(this.options.engine, id, {
        root,
        maxEntries: this.maxEntries,
        ...(signal ? { signal } : {}),
      });
      spend(listing.costBytes);
      if (listing.via === 'archive' && !state.saidArchive) {
        state.saidArchive = true;
        // Worth knowing: this costs per byte, not per entry (src/watch/README.md).
        this.options.log?.info({ id, root }, 'listing a writable path through the engine archive');
      }
      if (listing.entries.length > this.maxEntries) {
        pass.findings.push({
          path: root,
          change: 'modified',
          reason: `more than ${this.maxEntries} entries in writable ${root}, more than herd watches`,
        });
        continue;
      }
      for (const entry of listing.entries) {
        listedNow.add(entry.path);
        const finding = this.judgeListed(state, entry, root);
        if (finding) pass.findings.push(finding);
      }
    }
    pass.listed = true;
    state.credit = Math.max(state.credit, -maxDebtPasses * this.budget);
    for (const path of state.seen.keys()) {
      if (listedNow.has(path)) continue;
      state.seen.delete(path);
      state.pending.delete(path);
    }
    // The instance is being replaced: its files' contents change nothing.
    if (pass.findings.length > 0) return this.finish(pass, state);

    // The looks' own share: a listing that costs the whole budget (thousands of small files, or
    // the archive's bytes) would otherwise leave none, and a script without its execute bit would
    // wait behind it for good. What they spend still counts against the next listings.
    let lookCredit = Math.max(state.credit, this.budget * lookShare);
    for (const [path, { root }] of state.pending) {
      if (lookCredit <= 0) break;
      state.pending.delete(path);
      let look: Awaited<ReturnType<typeof lookAt>>;
      try {
        look = await lookAt(this.options.engine, id, {
          path,
          bytes: sniffBytes,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        // Gone since the listing: nothing to look at. Anything else: it waits its turn again.
        if (error instanceof EngineError && error.code === 'NOT_FOUND') continue;
        state.pending.set(path, { root });
        this.options.log?.warn(
          { id, path, err: String(error) },
          'could not read a new file in a writable path',
        );
        break;
      }
      spend(look.costBytes);
      lookCredit -= look.costBytes;
      pass.looks.push(path);
      const reason = look.head && judgeWritableContent(look.head, root);
      if (reason) pass.findings.push({ path, change: 'added', reason });
    }
    return this.finish(pass, state);
  }

  /** Forgets the instances not in `keep`: removed, or handed to the responder. */
  retain(keep: ReadonlySet<string>): void {
    for (const id of this.states.keys()) if (!keep.has(id)) this.states.delete(id);
  }

  /** Judges an entry the first time it is listed, and again whenever it changes. */
  private judgeListed(state: InstanceState, entry: ListedEntry, root: string): DriftFinding | undefined {
    const key = keyOf(entry);
    if (state.seen.get(entry.path) === key) return undefined;
    state.seen.set(entry.path, key);
    const reason = judgeWritableEntry(entry, root);
    if (reason) {
      state.pending.delete(entry.path);
      return { path: entry.path, change: 'added', reason };
    }
    // A changed file keeps its place in the queue (Map order): rewriting it cannot push it back.
    if (entry.type === 'file' && entry.size > 0 && entry.path !== root)
      state.pending.set(entry.path, { root });
    else state.pending.delete(entry.path);
    return undefined;
  }

  private finish(pass: WritablePass, state: InstanceState): WritablePass {
    pass.pending = state.pending.size;
    return pass;
  }

  private stateOf(id: string): InstanceState {
    let state = this.states.get(id);
    if (!state) {
      state = { seen: new Map(), pending: new Map(), credit: 0, saidArchive: false };
      this.states.set(id, state);
    }
    return state;
  }
}

/** What makes an entry "changed": any of these differs from the last listing. */
function keyOf(entry: ListedEntry): string {
  const { type, mode, uid, gid, size, mtimeMs, ino, ctimeMs, headDigest } = entry;
  return `${type}:${mode}:${uid}:${gid}:${size}:${mtimeMs}:${ino ?? ''}:${ctimeMs ?? ''}:${headDigest ?? ''}`;
}
