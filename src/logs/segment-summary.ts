/**
 * The index of one segment file: its time range, size and the instances in it, so queries skip
 * segments that cannot match and retention picks what to delete without reading any lines. Pure.
 */
import { matchesInstance } from './log-query.js';
import type { LogQuery, ResumePoint, StoredLogEntry } from './types.js';

export interface SegmentSummary {
  service: string;
  /** File name inside the service's directory, e.g. `00000000000000000042.ndjson`. */
  name: string;
  bytes: number;
  lines: number;
  /** Epoch ms; Infinity / -Infinity while empty. */
  firstTime: number;
  lastTime: number;
  maxSeq: number;
  instances: Record<string, ResumePoint>;
}

export function emptySummary(service: string, name: string): SegmentSummary {
  return {
    service,
    name,
    bytes: 0,
    lines: 0,
    firstTime: Number.POSITIVE_INFINITY,
    lastTime: Number.NEGATIVE_INFINITY,
    maxSeq: 0,
    instances: {},
  };
}

/** Adds one line to `summary` in place; `bytes` is its encoded size. */
export function addToSummary(summary: SegmentSummary, entry: StoredLogEntry, bytes: number): void {
  summary.bytes += bytes;
  summary.lines += 1;
  summary.firstTime = Math.min(summary.firstTime, entry.time);
  summary.lastTime = Math.max(summary.lastTime, entry.time);
  summary.maxSeq = Math.max(summary.maxSeq, entry.seq);
  summary.instances[entry.instance] = advanceResumePoint(summary.instances[entry.instance], entry);
}

/** The newest time seen for an instance, and the lines stored at exactly that time. */
export function advanceResumePoint(
  point: ResumePoint | undefined,
  entry: Pick<StoredLogEntry, 'time' | 'stream' | 'text'>,
): ResumePoint {
  const key = resumeKey(entry);
  if (!point || entry.time > point.time) return { time: entry.time, atTime: [key] };
  if (entry.time === point.time) return { time: point.time, atTime: [...point.atTime, key] };
  return point;
}

export function resumeKey(line: { stream: string; text: string }): string {
  return `${line.stream}\n${line.text}`;
}

export function mergeResumePoints(a: ResumePoint | undefined, b: ResumePoint | undefined) {
  if (!a) return b;
  if (!b) return a;
  if (a.time !== b.time) return a.time > b.time ? a : b;
  return { time: a.time, atTime: [...a.atTime, ...b.atTime] };
}

/** Whether a segment can hold a line the query wants. */
export function mayMatch(summary: SegmentSummary, query: Omit<LogQuery, 'limit'>): boolean {
  if (summary.lines === 0 || summary.service !== query.service) return false;
  if (query.since !== undefined && summary.lastTime < query.since) return false;
  if (query.instance !== undefined) {
    const wanted = query.instance;
    return Object.keys(summary.instances).some((id) => matchesInstance(id, wanted));
  }
  return true;
}

export interface RetentionLimits {
  maxBytes: number;
  maxAgeMs: number;
}

/**
 * Which segments to delete: every one whose newest line is older than the age limit, then the
 * oldest (by newest line) until the rest fit in `maxBytes`. `active` segments, being written, are
 * kept unless their lines are all too old: the writer then starts a new one.
 */
export function planRetention(
  segments: readonly SegmentSummary[],
  limits: RetentionLimits & { now: number; active: ReadonlySet<string> },
): SegmentSummary[] {
  const cutoff = limits.now - limits.maxAgeMs;
  const doomed = new Set<SegmentSummary>();
  for (const segment of segments) {
    if (segment.lines > 0 && segment.lastTime < cutoff) doomed.add(segment);
  }
  let total = 0;
  for (const segment of segments) if (!doomed.has(segment)) total += segment.bytes;
  const oldestFirst = [...segments]
    .filter((s) => !doomed.has(s) && !limits.active.has(segmentKey(s)))
    .sort((a, b) => a.lastTime - b.lastTime || a.name.localeCompare(b.name));
  for (const segment of oldestFirst) {
    if (total <= limits.maxBytes) break;
    doomed.add(segment);
    total -= segment.bytes;
  }
  return [...doomed];
}

export function segmentKey(summary: Pick<SegmentSummary, 'service' | 'name'>): string {
  return `${summary.service}/${summary.name}`;
}
