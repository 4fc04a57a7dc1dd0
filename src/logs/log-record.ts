/**
 * One stored line on disk: a JSON object on its own line (NDJSON), short keys because every line
 * pays for them. Segment files are read back as untrusted input: a torn last line from a crash or a
 * full disk decodes to undefined and is skipped, never thrown.
 */
import type { StoredLogEntry } from './types.js';

interface LogRecord {
  n: number;
  t: number;
  i: string;
  /** The instance's revision (short digest); `r` since the first segment format, so old segments read. */
  r: string;
  s: 'o' | 'e';
  x: string;
}

export function encodeRecord(entry: StoredLogEntry): string {
  const record: LogRecord = {
    n: entry.seq,
    t: entry.time,
    i: entry.instance,
    r: entry.revision,
    s: entry.stream === 'stderr' ? 'e' : 'o',
    x: entry.text,
  };
  return `${JSON.stringify(record)}\n`;
}

export function decodeRecord(service: string, line: string): StoredLogEntry | undefined {
  let record: Partial<LogRecord>;
  try {
    record = JSON.parse(line) as Partial<LogRecord>;
  } catch {
    return undefined;
  }
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.n !== 'number' ||
    typeof record.t !== 'number' ||
    typeof record.i !== 'string' ||
    typeof record.r !== 'string' ||
    typeof record.x !== 'string' ||
    (record.s !== 'o' && record.s !== 'e')
  ) {
    return undefined;
  }
  return {
    service,
    instance: record.i,
    revision: record.r,
    stream: record.s === 'e' ? 'stderr' : 'stdout',
    time: record.t,
    seq: record.n,
    text: record.x,
  };
}

/** Every whole record in a segment's bytes, and how many bytes they take (what is good to keep). */
export function decodeSegment(
  service: string,
  bytes: Buffer,
): { entries: StoredLogEntry[]; goodBytes: number } {
  const entries: StoredLogEntry[] = [];
  let start = 0;
  let goodBytes = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    const entry = decodeRecord(service, bytes.toString('utf8', start, end));
    if (entry) {
      entries.push(entry);
      goodBytes = end + 1;
    }
    start = end + 1;
  }
  return { entries, goodBytes };
}
