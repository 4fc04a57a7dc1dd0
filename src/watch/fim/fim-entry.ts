/**
 * One line of a baseline: what `herd fim` records about a filesystem entry, and the order entries
 * are kept in. The order is what lets `check` merge a baseline with a live walk in one pass, with
 * bounded memory, so it is defined once here and used by both the walker and the merge.
 */
export type FimEntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block' | 'unknown';

export interface FimEntry {
  /** Absolute inside the checked tree: "/" is its root, "/bin/ls" a file in it. */
  path: string;
  type: FimEntryType;
  /** Permission bits with setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Nanoseconds since the epoch, as a decimal string: more than 2^53. */
  mtime: string;
  /**
   * ctime and inode are not reported as changes. They only let a fast `check` trust a file's
   * recorded hash when size, mtime, ctime and inode are all unchanged (see README.md).
   */
  ctime: string;
  ino: string;
  /** Regular files only. */
  sha256?: string;
  /** Why a regular file could not be hashed (an errno code); such a file never checks clean. */
  unreadable?: string;
  /** Symlinks only. */
  target?: string;
  /** name → value in hex; absent when the entry has none or the baseline records no xattrs. */
  xattrs?: Record<string, string>;
}

/** The attributes `check` compares and reports, in report order. */
export const comparedAttributes = [
  'type',
  'mode',
  'uid',
  'gid',
  'size',
  'mtime',
  'sha256',
  'target',
  'xattrs',
] as const;
export type ComparedAttribute = (typeof comparedAttributes)[number];

/**
 * Depth-first order with siblings by name: "/" sorts below every other character, so a directory's
 * whole subtree comes before its next sibling ("/a/b" < "/a-c"), exactly as the walker emits them.
 */
export function comparePaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Sibling names in walk order: plain code-unit order, the same as `comparePaths` within one directory. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A directory entry's name as it appears in a path. Backslashes are doubled, and bytes that are not
 * UTF-8 become \xNN, so every name on disk has exactly one printable, unambiguous spelling.
 */
export function displayName(raw: Buffer): string {
  const text = raw.toString('utf8');
  const exact = !text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(raw);
  if (exact) return text.includes('\\') ? text.replaceAll('\\', '\\\\') : text;
  let out = '';
  for (const byte of raw) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * One NDJSON line, keys in a fixed order so that the same tree always gives the same bytes: the
 * path, then `entryHead`, `entryHashPart` and `entryTail`. A check compares most entries as these
 * strings, never parsed (fim.ts), so the line is built from the same three parts everywhere.
 */
export function entryLine(entry: FimEntry): string {
  return `${lineOfParts(entry.path, entryHead(entry), entry, entryTail(entry))}\n`;
}

/** An entry's line, without its newline, from its path and the parts the file pool reads. */
export function lineOfParts(
  path: string,
  head: string,
  hash: Pick<FimEntry, 'sha256' | 'unreadable'>,
  tail: string,
): string {
  return `{"path":${JSON.stringify(path)}${head}${entryHashPart(hash)}${tail}`;
}

/** What JSON.stringify escapes in a string: a path holding none is spelled `"<path>"`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const escaped = /[\u0000-\u001f"\\]/;

/**
 * A line's path without parsing it, and where its head (`entryHead`) begins: lines begin
 * `{"path":"…"`. Anything else (another writer's key order, a path with an escape) is left to the
 * parser.
 */
export function plainPathOf(line: string): { path: string; headAt: number } | undefined {
  if (!line.startsWith('{"path":"/')) return undefined;
  const end = line.indexOf('"', 9);
  if (end < 0) return undefined;
  const path = line.slice(9, end);
  return escaped.test(path) ? undefined : { path, headAt: end + 1 };
}

/** `,"sha256":"` + 64 hex digits + `"`: the hash part of a line whose file has a hash. */
const hashPartLength = 11 + 64 + 1;

/**
 * Where a well-formed hash part (`entryHashPart` of a file with a sha256 and nothing unreadable)
 * that begins at `at` ends, or undefined when there is none there.
 */
export function recordedHashEnd(line: string, at: number): number | undefined {
  const end = at + hashPartLength;
  const found =
    line.startsWith(',"sha256":"', at) &&
    line.charCodeAt(end - 1) === 0x22 &&
    sha256Hex.test(line.slice(at + 11, end - 1));
  return found ? end : undefined;
}

/**
 * The line's keys from type to inode. It runs on the file pool's workers from its source text
 * (file-pool.ts), so it refers to nothing outside its own body.
 */
export function entryHead(
  entry: Pick<FimEntry, 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'ctime' | 'ino'>,
): string {
  const { type, mode, uid, gid, size, mtime, ctime, ino } = entry;
  return `,"type":${JSON.stringify(type)},"mode":${JSON.stringify(mode)},"uid":${JSON.stringify(uid)},"gid":${JSON.stringify(gid)},"size":${JSON.stringify(size)},"mtime":${JSON.stringify(mtime)},"ctime":${JSON.stringify(ctime)},"ino":${JSON.stringify(ino)}`;
}

/** The line's sha256 and unreadable keys, when the entry has them. */
export function entryHashPart(entry: Pick<FimEntry, 'sha256' | 'unreadable'>): string {
  const sha256 = entry.sha256 === undefined ? '' : `,"sha256":${JSON.stringify(entry.sha256)}`;
  return entry.unreadable === undefined
    ? sha256
    : `${sha256},"unreadable":${JSON.stringify(entry.unreadable)}`;
}

/**
 * The line's target and xattrs (sorted by name, as `compareNames` orders them) and its closing
 * brace. It runs on the file pool's workers from its source text, so it refers to nothing outside
 * its own body.
 */
export function entryTail(entry: Pick<FimEntry, 'target' | 'xattrs'>): string {
  let tail = entry.target === undefined ? '' : `,"target":${JSON.stringify(entry.target)}`;
  if (entry.xattrs !== undefined) {
    const sorted = Object.entries(entry.xattrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    tail += `,"xattrs":${JSON.stringify(Object.fromEntries(sorted))}`;
  }
  return `${tail}}`;
}

const entryTypes: ReadonlySet<string> = new Set<FimEntryType>([
  'file',
  'dir',
  'symlink',
  'fifo',
  'socket',
  'char',
  'block',
  'unknown',
]);
const decimal = /^[0-9]+$/;
const sha256Hex = /^[0-9a-f]{64}$/;
const hex = /^[0-9a-f]*$/;

/**
 * Parses one baseline line; `undefined` when it is not a well-formed entry (the caller says where).
 * Checked by hand rather than by a schema library: a check reads one line per entry of the tree,
 * and this is the cost per line that is left once JSON.parse has run. Keys it does not know are
 * dropped.
 */
export function parseEntryLine(line: string): FimEntry | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const e = json as Record<string, unknown>;
  if (
    !(typeof e.path === 'string' && e.path.startsWith('/')) ||
    !(typeof e.type === 'string' && entryTypes.has(e.type)) ||
    !isWhole(e.mode, 0o7777) ||
    !isWhole(e.uid) ||
    !isWhole(e.gid) ||
    !isWhole(e.size) ||
    !isDecimal(e.mtime) ||
    !isDecimal(e.ctime) ||
    !isDecimal(e.ino)
  ) {
    return undefined;
  }
  const entry: FimEntry = {
    path: e.path,
    type: e.type as FimEntryType,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    mtime: e.mtime,
    ctime: e.ctime,
    ino: e.ino,
  };
  if (e.sha256 !== undefined) {
    if (!(typeof e.sha256 === 'string' && sha256Hex.test(e.sha256))) return undefined;
    entry.sha256 = e.sha256;
  }
  if (e.unreadable !== undefined) {
    if (typeof e.unreadable !== 'string') return undefined;
    entry.unreadable = e.unreadable;
  }
  if (e.target !== undefined) {
    if (typeof e.target !== 'string') return undefined;
    entry.target = e.target;
  }
  if (e.xattrs !== undefined) {
    const xattrs = e.xattrs;
    if (typeof xattrs !== 'object' || xattrs === null || Array.isArray(xattrs)) return undefined;
    for (const value of Object.values(xattrs)) {
      if (!(typeof value === 'string' && hex.test(value))) return undefined;
    }
    entry.xattrs = xattrs as Record<string, string>;
  }
  return entry;
}

function isWhole(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function isDecimal(value: unknown): value is string {
  return typeof value === 'string' && decimal.test(value);
}
