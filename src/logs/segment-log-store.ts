/**
 * The log store as files under HERD_HOME/logs: one directory per service, append-only NDJSON
 * segment files in it, and beside each sealed segment its index (`<segment>.idx.json`: time range,
 * size, instances). Appends are buffered and written every `flushMs`; a segment is sealed at
 * `segmentBytes`. Retention deletes whole segments: those older than `maxAgeMs`, then the oldest
 * past `maxBytes`. Lines stay after their instance is gone; only retention removes them.
 *
 * A write that fails (ENOSPC above all) is never thrown at the caller: the lines of that flush are
 * dropped and counted, `stats().health` says so, one warning is logged, and the next flush first
 * cuts the segment back to its last whole line and tries again.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { backgroundClock, type Clock, type Logger, silentLogger } from '../common/index.js';
import { LogError } from './errors.js';
import { LineFeed } from './line-feed.js';
import { matchesQuery, newestFirstLimit } from './log-query.js';
import { decodeSegment, encodeRecord } from './log-record.js';
import {
  addToSummary,
  advanceResumePoint,
  emptySummary,
  mayMatch,
  mergeResumePoints,
  planRetention,
  type SegmentSummary,
  segmentKey,
} from './segment-summary.js';
import { FsSegmentWriter, type SegmentWriter } from './segment-writer.js';
import type {
  LogEntry,
  LogQuery,
  LogStore,
  LogStoreHealth,
  LogStoreStats,
  ResumePoint,
  StoredLogEntry,
} from './types.js';

export interface SegmentLogStoreOptions {
  /** HERD_HOME/logs. */
  dir: string;
  /** Default 100 MiB. */
  maxBytes?: number;
  /** Default 7 days. */
  maxAgeMs?: number;
  /** Default a tenth of maxBytes, between 64 KiB and 8 MiB: retention deletes in these steps. */
  segmentBytes?: number;
  /** Default 200 ms. */
  flushMs?: number;
  /** How often retention runs besides after each seal; default 60 s. */
  retentionMs?: number;
  /** Lines waiting for a flush beyond this are dropped (counted); default 50 000. */
  maxPending?: number;
  writer?: SegmentWriter;
  clock?: Clock;
  log?: Pick<Logger, 'info' | 'warn'>;
}

export const defaultLogRetention = { maxBytes: 100 * 1024 * 1024, maxAgeMs: 7 * 86_400_000 } as const;

const indexSuffix = '.idx.json';
const segmentSuffix = '.ndjson';

export class SegmentLogStore implements LogStore {
  private readonly writer: SegmentWriter;
  private readonly clock: Clock;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly segmentBytes: number;
  private readonly flushMs: number;
  private readonly retentionMs: number;
  private readonly maxPending: number;
  /** Every segment on disk, by `service/name`. */
  private readonly segments = new Map<string, SegmentSummary>();
  /** The segment each service appends to. */
  private readonly active = new Map<string, SegmentSummary>();
  /** Segments a failed append may have left a torn line in, with the length that is good. */
  private readonly torn = new Map<string, number>();
  private readonly resumePoints = new Map<string, ResumePoint>();
  private readonly feed = new LineFeed();
  private pending: StoredLogEntry[] = [];
  private lastSeq = 0;
  private chain: Promise<void> = Promise.resolve();
  private health: LogStoreHealth = { kind: 'ok' };
  private cancelFlush: (() => void) | undefined;
  private cancelRetention: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly options: SegmentLogStoreOptions) {
    this.writer = options.writer ?? new FsSegmentWriter();
    this.clock = options.clock ?? backgroundClock;
    this.log = options.log ?? silentLogger;
    this.maxBytes = options.maxBytes ?? defaultLogRetention.maxBytes;
    this.maxAgeMs = options.maxAgeMs ?? defaultLogRetention.maxAgeMs;
    this.segmentBytes =
      options.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(64 * 1024, Math.floor(this.maxBytes / 10)));
    this.flushMs = options.flushMs ?? 200;
    this.retentionMs = options.retentionMs ?? 60_000;
    this.maxPending = options.maxPending ?? 50_000;
  }

  /** Reads the indexes (and scans segments that have none), then applies retention once. */
  static async open(options: SegmentLogStoreOptions): Promise<SegmentLogStore> {
    const store = new SegmentLogStore(options);
    await store.load();
    await store.enforceRetention();
    store.scheduleRetention();
    return store;
  }

  write(entries: readonly LogEntry[]): void {
    if (this.closed) return;
    for (const entry of entries) {
      const stored: StoredLogEntry = { ...entry, seq: ++this.lastSeq };
      this.resumePoints.set(
        entry.instance,
        advanceResumePoint(this.resumePoints.get(entry.instance), stored),
      );
      if (this.pending.length >= this.maxPending)
        this.dropped(1, 'PENDING_FULL', 'too many lines wait for disk');
      else this.pending.push(stored);
      this.feed.emit(stored);
    }
    if (entries.length > 0 && !this.cancelFlush) {
      this.cancelFlush = this.clock.setTimer(this.flushMs, () => {
        this.cancelFlush = undefined;
        void this.flush();
      });
    }
  }

  /** Writes what is pending; resolves once it is on disk or counted as dropped. Never rejects. */
  flush(): Promise<void> {
    return this.serialized(() => this.writePending());
  }

  async query(query: LogQuery, options: { maxSeq?: number } = {}): Promise<StoredLogEntry[]> {
    if (!Number.isInteger(query.limit) || query.limit < 1) {
      throw new LogError('QUERY_INVALID', `query limit is ${query.limit}: expected a whole number above 0`);
    }
    await this.flush();
    const maxSeq = options.maxSeq ?? Number.POSITIVE_INFINITY;
    const candidates = [...this.segments.values()]
      .filter((s) => mayMatch(s, query))
      .sort((a, b) => b.lastTime - a.lastTime);
    const found: StoredLogEntry[] = [];
    for (const segment of candidates) {
      // Segments are visited newest first: once `limit` lines are newer than all a segment holds,
      // no older segment can add to the answer.
      if (found.length >= query.limit) {
        const kept = newestFirstLimit(found, query.limit);
        if (segment.lastTime < kept[0]!.time) break;
      }
      for (const entry of await this.readSegment(segment)) {
        if (entry.seq <= maxSeq && matchesQuery(entry, query)) found.push(entry);
      }
    }
    return newestFirstLimit(found, query.limit);
  }

  /**
   * The stored lines first, then live ones. The live feed is joined before the stored lines are
   * read, and `seq` splits the two, so a line written meanwhile comes exactly once.
   */
  async *follow(query: LogQuery & { signal: AbortSignal }): AsyncIterable<StoredLogEntry> {
    const { signal, limit, ...filter } = query;
    const live = this.feed.subscribe(signal, (entry) => matchesQuery(entry, filter));
    const high = this.lastSeq;
    for (const entry of await this.query({ ...filter, limit }, { maxSeq: high })) {
      if (signal.aborted) return;
      yield entry;
    }
    for await (const entry of live) {
      if (entry.seq > high) yield entry;
    }
  }

  resumePoint(instance: string): ResumePoint | undefined {
    return this.resumePoints.get(instance);
  }

  stats(): LogStoreStats {
    let bytes = 0;
    for (const segment of this.segments.values()) bytes += segment.bytes;
    return { bytes, segments: this.segments.size, health: { ...this.health } };
  }

  enforceRetention(): Promise<void> {
    return this.serialized(async () => {
      const now = this.clock.now();
      const doomed = planRetention([...this.segments.values()], {
        maxBytes: this.maxBytes,
        maxAgeMs: this.maxAgeMs,
        now,
        active: new Set([...this.active.values()].map(segmentKey)),
      });
      for (const segment of doomed) {
        const key = segmentKey(segment);
        try {
          await this.writer.remove(this.pathOf(segment));
          await this.writer.remove(this.pathOf(segment) + indexSuffix);
        } catch (error) {
          this.log.warn({ segment: key, error: String(error) }, 'log retention could not delete a segment');
          continue;
        }
        this.segments.delete(key);
        this.torn.delete(key);
        if (this.active.get(segment.service) === segment) this.active.delete(segment.service);
      }
      // Resume points of long-gone instances would otherwise grow without bound.
      for (const [instance, point] of this.resumePoints) {
        if (point.time < now - this.maxAgeMs) this.resumePoints.delete(instance);
      }
      if (doomed.length > 0) {
        this.log.info({ deleted: doomed.length, ...this.stats() }, 'log retention deleted old segments');
      }
    });
  }

  /** Flushes and stops the timers; later writes are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelFlush?.();
    this.cancelRetention?.();
    await this.flush();
  }

  private serialized(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work);
    this.chain = run.catch((error) => {
      this.log.warn({ error: String(error) }, 'log store step failed');
    });
    return this.chain;
  }

  private scheduleRetention(): void {
    this.cancelRetention = this.clock.setTimer(this.retentionMs, () => {
      if (this.closed) return;
      void this.enforceRetention().then(() => this.scheduleRetention());
    });
  }

  private async writePending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const byService = new Map<string, StoredLogEntry[]>();
    for (const entry of batch) {
      const list = byService.get(entry.service) ?? [];
      list.push(entry);
      byService.set(entry.service, list);
    }
    let sealed = false;
    for (const [service, entries] of byService) {
      sealed = (await this.append(service, entries)) || sealed;
    }
    // Queued behind this flush, not awaited: a sealed segment is what retention can delete.
    if (sealed) void this.enforceRetention();
  }

  /** Appends one service's lines; true when a segment was sealed on the way. */
  private async append(service: string, entries: StoredLogEntry[]): Promise<boolean> {
    let sealed = false;
    let segment = this.active.get(service);
    if (segment && segment.bytes >= this.segmentBytes) {
      await this.seal(segment);
      segment = undefined;
      sealed = true;
    }
    const encoded = entries.map((entry) => encodeRecord(entry));
    const data = Buffer.from(encoded.join(''), 'utf8');
    const target = segment ?? emptySummary(service, segmentName(entries[0]!.seq));
    const key = segmentKey(target);
    try {
      const good = this.torn.get(key);
      if (good !== undefined) {
        await this.writer.truncate(this.pathOf(target), good);
        this.torn.delete(key);
      }
      await this.writer.append(this.pathOf(target), data);
    } catch (error) {
      if (segment) this.torn.set(key, segment.bytes);
      // A new segment that failed is not kept: its file, if any, holds at most a torn line.
      else await this.writer.remove(this.pathOf(target)).catch(() => undefined);
      this.dropped(entries.length, errorCode(error), String((error as Error).message ?? error));
      return sealed;
    }
    entries.forEach((entry, index) => {
      addToSummary(target, entry, Buffer.byteLength(encoded[index]!));
    });
    this.segments.set(key, target);
    this.active.set(service, target);
    this.recovered();
    return sealed;
  }

  /** Writes the segment's index; a segment whose index is missing is scanned at the next open. */
  private async seal(segment: SegmentSummary): Promise<void> {
    this.active.delete(segment.service);
    try {
      await this.writer.writeAtomic(this.pathOf(segment) + indexSuffix, JSON.stringify(segment));
    } catch (error) {
      this.log.warn({ segment: segmentKey(segment), error: String(error) }, 'log segment index not written');
    }
  }

  private dropped(count: number, code: string, message: string): void {
    if (this.health.kind === 'write-failed') {
      this.health.droppedLines += count;
      return;
    }
    this.health = { kind: 'write-failed', code, since: this.clock.now(), droppedLines: count, message };
    // Once per episode: a full disk must be seen, not flood the control plane's own log.
    this.log.warn(
      { code, message, dir: this.options.dir },
      'log store cannot write: dropping lines until it can (instances keep running)',
    );
  }

  private recovered(): void {
    if (this.health.kind === 'ok') return;
    this.log.info({ droppedLines: this.health.droppedLines }, 'log store writes again');
    this.health = { kind: 'ok' };
  }

  private pathOf(segment: Pick<SegmentSummary, 'service' | 'name'>): string {
    return join(this.options.dir, serviceDir(segment.service), segment.name);
  }

  private async readSegment(segment: SegmentSummary): Promise<StoredLogEntry[]> {
    try {
      // Only the bytes the index vouches for: past them may lie part of an append that failed.
      const bytes = (await readFile(this.pathOf(segment))).subarray(0, segment.bytes);
      return decodeSegment(segment.service, bytes).entries;
    } catch (error) {
      // Retention may have deleted it since the query picked it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async load(): Promise<void> {
    const services = await readdir(this.options.dir).catch(() => [] as string[]);
    for (const dir of services) {
      const service = decodeURIComponent(dir);
      const names = (await readdir(join(this.options.dir, dir)).catch(() => [] as string[]))
        .filter((name) => name.endsWith(segmentSuffix))
        .sort();
      for (const [position, name] of names.entries()) {
        const { summary, sealed } = await this.loadSegment(service, name);
        this.segments.set(segmentKey(summary), summary);
        this.lastSeq = Math.max(this.lastSeq, summary.maxSeq);
        for (const [instance, point] of Object.entries(summary.instances)) {
          this.resumePoints.set(instance, mergeResumePoints(this.resumePoints.get(instance), point)!);
        }
        const last = position === names.length - 1;
        if (last && !sealed) this.active.set(service, summary);
        // An older segment without its index (a crash between seal and index): index it now, so
        // the next open need not scan it again.
        else if (!sealed) await this.seal(summary);
      }
    }
  }

  /** The index when it matches the file; otherwise a scan, cutting off a torn last line. */
  private async loadSegment(
    service: string,
    name: string,
  ): Promise<{ summary: SegmentSummary; sealed: boolean }> {
    const path = this.pathOf({ service, name });
    const size = (await stat(path)).size;
    const index = await readFile(path + indexSuffix, 'utf8').catch(() => undefined);
    if (index) {
      const summary = parseIndex(index);
      if (summary && summary.bytes === size && summary.service === service && summary.name === name) {
        return { summary, sealed: true };
      }
    }
    const { entries, goodBytes } = decodeSegment(service, await readFile(path));
    if (goodBytes < size) {
      try {
        await this.writer.truncate(path, goodBytes);
      } catch (error) {
        this.torn.set(segmentKey({ service, name }), goodBytes);
        this.log.warn({ path, error: String(error) }, 'log segment has a torn line that could not be cut');
      }
    }
    const summary = emptySummary(service, name);
    for (const entry of entries) addToSummary(summary, entry, Buffer.byteLength(encodeRecord(entry)));
    summary.bytes = goodBytes;
    return { summary, sealed: false };
  }
}

/** Named by the first line's seq: names sort in write order and never repeat. */
function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}${segmentSuffix}`;
}

/** Service names come from specs; the encoding keeps any of them inside the logs directory. */
function serviceDir(service: string): string {
  if (service === '' || service === '.' || service === '..') {
    throw new LogError(
      'SERVICE_INVALID',
      `service name ${JSON.stringify(service)} cannot name a log directory`,
    );
  }
  return encodeURIComponent(service);
}

function parseIndex(text: string): SegmentSummary | undefined {
  try {
    const value = JSON.parse(text) as SegmentSummary;
    if (typeof value.bytes !== 'number' || typeof value.instances !== 'object') return undefined;
    // JSON has no Infinity: an empty segment's times come back as null.
    value.firstTime ??= Number.POSITIVE_INFINITY;
    value.lastTime ??= Number.NEGATIVE_INFINITY;
    return value;
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'WRITE_FAILED';
}
