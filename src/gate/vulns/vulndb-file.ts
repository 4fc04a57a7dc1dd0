/**
 * herd's vulnerability cache: the records kept from the tracker or OSV, indexed by (source package,
 * suite codename). The file is line-oriented so that loading it indexes every source package
 * without parsing every record; a gate looks up only the hundred or so sources of one image.
 *
 *   line 1:  {"format":"herd-vulndb/2","bodySha256":"<hex>","meta":{…}}
 *   then:    <source>\t[{"<id>":"<description>",…},{"<suite>":[[id,state,fixedVersion,urgency,extra?],…]}]
 *
 * One line per source package, sorted, so the same input always gives the same bytes. The body's
 * sha256 in the header catches a damaged file at load time rather than in the middle of a gate.
 */
import {
  arrayAt,
  countAt,
  isoDateTimeAt,
  objectAt,
  oneOfAt,
  ShapeError,
  sha256Hex,
  stringAt,
} from '../../common/index.js';
import { VulnDbError } from './errors.js';
import type { SkipReason } from './tracker-format.js';
import type { VulnRecord, VulnState } from './types.js';

export const vulnDbFormat = 'herd-vulndb/2';

export interface VulnDbMeta {
  /** The URL or absolute path the data came from. */
  source: string;
  inputFormat: 'debian-tracker' | 'osv';
  /** When `herd vulndb update` read it. */
  fetchedAt: string;
  /** When the data itself was last changed, when known: HTTP Last-Modified, the file's mtime, or the newest OSV `modified`. */
  dataDate?: string;
  /** Codenames kept, sorted. */
  suites: string[];
  /** (source, id, suite) records kept. */
  records: number;
  /** Distinct ids (CVEs) among them. */
  vulnerabilities: number;
  sourcePackages: number;
  /** Entries read but not kept, by why: they can never be findings, or are for other suites. */
  skipped: Record<SkipReason, number>;
}

/** What matching needs: the records of one source package in one suite. */
export interface VulnIndex {
  recordsFor(source: string, suite: string): readonly VulnRecord[];
}

export interface VulnDb extends VulnIndex {
  meta: VulnDbMeta;
}

const noRecords: readonly VulnRecord[] = Object.freeze([]);

/** An in-memory index, for records that are already parsed (tests, small OSV sets). */
export function vulnIndexFromRecords(records: Iterable<VulnRecord>): VulnIndex {
  const byKey = new Map<string, VulnRecord[]>();
  for (const record of records) {
    const key = `${record.source}\t${record.suite}`;
    const list = byKey.get(key);
    if (list) list.push(record);
    else byKey.set(key, [record]);
  }
  return { recordsFor: (source, suite) => byKey.get(`${source}\t${suite}`) ?? noRecords };
}

/** Collects records during an update and writes them out in the cache's format. */
export class VulnDbBuilder {
  private readonly bySource = new Map<string, Map<string, VulnRecord[]>>();
  private readonly ids = new Set<string>();
  private readonly suites = new Set<string>();
  private count = 0;

  add(record: VulnRecord): void {
    let bySuite = this.bySource.get(record.source);
    if (!bySuite) {
      bySuite = new Map();
      this.bySource.set(record.source, bySuite);
    }
    const list = bySuite.get(record.suite);
    if (list) list.push(record);
    else bySuite.set(record.suite, [record]);
    this.ids.add(record.id);
    this.suites.add(record.suite);
    this.count++;
  }

  get counts(): Pick<VulnDbMeta, 'records' | 'vulnerabilities' | 'sourcePackages' | 'suites'> {
    return {
      records: this.count,
      vulnerabilities: this.ids.size,
      sourcePackages: this.bySource.size,
      suites: [...this.suites].sort(),
    };
  }

  /** The whole file. Deterministic: sources, suites and records are sorted. */
  serialize(meta: VulnDbMeta): string {
    const lines: string[] = [];
    for (const source of [...this.bySource.keys()].sort()) {
      const bySuite = this.bySource.get(source)!;
      const descriptions: Record<string, string> = {};
      const suites: Record<string, CachedRecord[]> = {};
      for (const suite of [...bySuite.keys()].sort()) {
        const records = [...bySuite.get(suite)!].sort(compareRecords);
        suites[suite] = records.map((record) => {
          if (record.description) descriptions[record.id] = record.description;
          return encodeRecord(record);
        });
      }
      // Records are sorted, so the descriptions' first-seen order is as deterministic as they are.
      lines.push(`${source}\t${JSON.stringify([descriptions, suites])}`);
    }
    const body = lines.join('\n');
    const header = { format: vulnDbFormat, bodySha256: sha256Hex(body), meta };
    return `${JSON.stringify(header)}\n${body}\n`;
  }
}

/**
 * A record as stored: `[id, state, fixedVersion, urgency, extra?]`, where state is `fixed`, `open`
 * or a will-not-fix reason, fixedVersion is empty unless fixed, and extra holds OSV's bounds and
 * aliases when there are any.
 */
type CachedRecord =
  | [string, CachedState, string, string]
  | [string, CachedState, string, string, CachedExtra];
type CachedState = 'fixed' | 'open' | 'no-dsa' | 'ignored' | 'postponed' | 'end-of-life';
interface CachedExtra {
  aliases?: string[];
  introduced?: string;
  lastAffected?: string;
}

function encodeRecord(record: VulnRecord): CachedRecord {
  const state: CachedState = record.state.kind === 'will-not-fix' ? record.state.reason : record.state.kind;
  const version = record.state.kind === 'fixed' ? record.state.version : '';
  const extra: CachedExtra = {
    ...(record.aliases?.length ? { aliases: record.aliases } : {}),
    ...(record.introduced !== undefined ? { introduced: record.introduced } : {}),
    ...(record.lastAffected !== undefined ? { lastAffected: record.lastAffected } : {}),
  };
  return Object.keys(extra).length > 0
    ? [record.id, state, version, record.urgency, extra]
    : [record.id, state, version, record.urgency];
}

function decodeState(state: CachedState, version: string): VulnState {
  switch (state) {
    case 'fixed':
      return { kind: 'fixed', version };
    case 'open':
      return { kind: 'open' };
    default:
      return { kind: 'will-not-fix', reason: state };
  }
}

/** The header line's fields, checked by hand (json-shape.ts): zod would cost a gate 10–20 ms here. */
function vulnDbHeaderOf(json: unknown): { bodySha256: string; meta: VulnDbMeta } {
  const header = objectAt(json, '');
  oneOfAt(header.format, 'format', [vulnDbFormat]);
  const bodySha256 = stringAt(header.bodySha256, 'bodySha256');
  if (!/^[0-9a-f]{64}$/.test(bodySha256)) {
    throw new ShapeError('bodySha256', 'Invalid string: must match pattern /^[0-9a-f]{64}$/');
  }
  const meta = objectAt(header.meta, 'meta');
  const skipped = objectAt(meta.skipped, 'meta.skipped');
  const dataDate = meta.dataDate === undefined ? undefined : isoDateTimeAt(meta.dataDate, 'meta.dataDate');
  return {
    bodySha256,
    meta: {
      source: stringAt(meta.source, 'meta.source'),
      inputFormat: oneOfAt(meta.inputFormat, 'meta.inputFormat', ['debian-tracker', 'osv'] as const),
      fetchedAt: isoDateTimeAt(meta.fetchedAt, 'meta.fetchedAt'),
      ...(dataDate === undefined ? {} : { dataDate }),
      suites: arrayAt(meta.suites, 'meta.suites', stringAt),
      records: countAt(meta.records, 'meta.records'),
      vulnerabilities: countAt(meta.vulnerabilities, 'meta.vulnerabilities'),
      sourcePackages: countAt(meta.sourcePackages, 'meta.sourcePackages'),
      skipped: {
        'not-affected': countAt(skipped['not-affected'], 'meta.skipped.not-affected'),
        undetermined: countAt(skipped.undetermined, 'meta.skipped.undetermined'),
        'other-suite': countAt(skipped['other-suite'], 'meta.skipped.other-suite'),
      },
    },
  };
}

/** Where a source package's line is in the file: the bytes after its tab, up to its newline. */
export interface VulnDbLineRange {
  start: number;
  end: number;
}

/** Every source package's line, as indexVulnDbLines finds them in a hashed file. */
export type VulnDbLines = Map<string, VulnDbLineRange>;

/**
 * How a lazy index finds one source package's line: a VulnDbLines, or a verification record's
 * lookup, which finds the hundred sources a gate asks for without building a map of all of them.
 */
export interface VulnDbLineLookup {
  get(source: string): VulnDbLineRange | undefined;
}

/** The header line of a cache file herd wrote: its metadata and the sha256 its body must have. */
export interface VulnDbHeaderLine {
  meta: VulnDbMeta;
  bodySha256: string;
  /** The offset of the header's newline: the body starts after it. */
  headerEnd: number;
}

function cacheInvalid(path: string, why: string): never {
  throw new VulnDbError(
    'VULNDB_CACHE_INVALID',
    `${path} is not a usable vulnerability cache: ${why}; run herd vulndb update to rebuild it`,
  );
}

/**
 * The header line at the start of `bytes` (the whole file, or as much of its start as holds the
 * header line). Throws VULNDB_CACHE_INVALID when it is not one herd wrote.
 */
export function parseVulnDbHeader(bytes: Buffer, options: { path: string }): VulnDbHeaderLine {
  const invalid = (why: string): never => cacheInvalid(options.path, why);
  const headerEnd = bytes.indexOf(0x0a);
  if (headerEnd < 0) invalid('it has no header line');
  let headerJson: unknown;
  try {
    headerJson = JSON.parse(bytes.toString('utf8', 0, headerEnd));
  } catch {
    invalid('its header is not JSON');
  }
  try {
    return { ...vulnDbHeaderOf(headerJson), headerEnd };
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    return invalid(`header ${error.path || '(root)'}: ${error.issue}`);
  }
}

/** The body's range in the whole file: between the header line and the final newline. */
export function vulnDbBodyRange(bytes: Buffer, headerEnd: number): { bodyStart: number; bodyEnd: number } {
  const bodyStart = headerEnd + 1;
  const bodyEnd =
    bytes.length > bodyStart && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  return { bodyStart, bodyEnd };
}

/** Each source package's line in the body, found by its newline and tab; nothing is parsed. */
export function indexVulnDbLines(
  bytes: Buffer,
  range: { bodyStart: number; bodyEnd: number },
  options: { path: string },
): VulnDbLines {
  const lines: VulnDbLines = new Map();
  for (let start = range.bodyStart; start < range.bodyEnd; ) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 || newline > range.bodyEnd ? range.bodyEnd : newline;
    const tab = bytes.indexOf(0x09, start);
    if (tab < 0 || tab > end)
      cacheInvalid(options.path, `the line at byte ${start} has no source package name`);
    lines.set(bytes.toString('utf8', start, tab), { start: tab + 1, end });
    start = end + 1;
  }
  return lines;
}

/**
 * A lazy index over lines already verified: each source package's line is read (`readLine`) and
 * parsed the first time it is looked up, so a gate pays for the hundred sources of its image, not
 * for all of them.
 */
export function lazyVulnDb(
  meta: VulnDbMeta,
  lines: VulnDbLineLookup,
  readLine: (range: VulnDbLineRange) => string,
): VulnDb {
  const parsed = new Map<string, Map<string, VulnRecord[]>>();
  return {
    meta,
    recordsFor(source, suite) {
      let bySuite = parsed.get(source);
      if (!bySuite) {
        const line = lines.get(source);
        if (!line) return noRecords;
        bySuite = decodeLine(source, readLine(line));
        parsed.set(source, bySuite);
      }
      return bySuite.get(suite) ?? noRecords;
    },
  };
}

/**
 * The header and the lines of a whole cache file, after checking its body against the header's
 * sha256. Throws VULNDB_CACHE_INVALID when the file is not one herd wrote, or was damaged.
 */
export function verifyVulnDbFile(
  bytes: Buffer,
  options: { path: string },
): { header: VulnDbHeaderLine; lines: VulnDbLines } {
  const header = parseVulnDbHeader(bytes, options);
  const range = vulnDbBodyRange(bytes, header.headerEnd);
  const actual = sha256Hex(bytes.subarray(range.bodyStart, range.bodyEnd));
  if (actual !== header.bodySha256) {
    cacheInvalid(
      options.path,
      `its body hashes to sha256:${actual}, the header says sha256:${header.bodySha256}`,
    );
  }
  return { header, lines: indexVulnDbLines(bytes, range, options) };
}

/** Reads a whole cache file into a lazy index (verifyVulnDbFile first). */
export function parseVulnDbFile(bytes: Buffer, options: { path: string }): VulnDb {
  const { header, lines } = verifyVulnDbFile(bytes, options);
  return lazyVulnDb(header.meta, lines, ({ start, end }) => bytes.toString('utf8', start, end));
}

function decodeLine(source: string, json: string): Map<string, VulnRecord[]> {
  const [descriptions, suites] = JSON.parse(json) as [Record<string, string>, Record<string, CachedRecord[]>];
  const bySuite = new Map<string, VulnRecord[]>();
  for (const [suite, cached] of Object.entries(suites)) {
    bySuite.set(
      suite,
      cached.map(([id, state, version, urgency, extra]) => ({
        id,
        source,
        suite,
        state: decodeState(state, version),
        urgency,
        description: descriptions[id] ?? '',
        ...extra,
      })),
    );
  }
  return bySuite;
}

function compareRecords(a: VulnRecord, b: VulnRecord): number {
  return compareIds(a.id, b.id) || compareIds(a.introduced ?? '', b.introduced ?? '');
}

/**
 * CVE-2024-9999 before CVE-2024-10000: digit runs compare as numbers and everything else by code
 * unit, so the order never depends on the locale. Allocation-free: updates sort ~10^5 records.
 */
export function compareIds(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (isDigitAt(a, i) && isDigitAt(b, j)) {
      const startA = i;
      const startB = j;
      while (a.charCodeAt(i) === 0x30) i++;
      while (b.charCodeAt(j) === 0x30) j++;
      let endA = i;
      let endB = j;
      while (isDigitAt(a, endA)) endA++;
      while (isDigitAt(b, endB)) endB++;
      if (endA - i !== endB - j) return endA - i - (endB - j);
      for (; i < endA; i++, j++) {
        if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) - b.charCodeAt(j);
      }
      // Same number: the one written with fewer leading zeros first, so that the order stays total.
      if (endA - startA !== endB - startB) return endA - startA - (endB - startB);
      continue;
    }
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return a.charCodeAt(i) - b.charCodeAt(j);
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

function isDigitAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return code >= 0x30 && code <= 0x39;
}
