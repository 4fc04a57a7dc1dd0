/**
 * Tar archives: a reader for hostile input (.deb members, pulled layers) and a deterministic
 * writer for image layers.
 *
 * Wire formats:
 * - ustar and pax: POSIX.1-2017 `pax`, "pax Interchange Format" and "ustar Interchange Format",
 *   https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13
 * - GNU extensions (`L`/`K` long names, base-256 numbers, the `ustar  ` magic):
 *   https://www.gnu.org/software/tar/manual/html_node/Standard.html
 */
import { OciError } from './errors.js';
import {
  agreedEntryType,
  blockSize,
  ExtendedHeaders,
  entryMetadata,
  type Field,
  field,
  maxMetaSize,
  numberField,
  stringField,
  ustarPath,
  verifyChecksum,
} from './tar-header.js';

/** What a layer holds, and all that the writer writes. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** Entry types the reader reports so that callers can reject them; `unknown` keeps its typeflag. */
export type TarSpecialType = 'char' | 'block' | 'fifo' | 'unknown';

export interface TarEntry {
  /** As in the archive, e.g. `./usr/bin/x` or `usr/lib/`; see normalizeArchivePath. */
  path: string;
  type: TarEntryType;
  /** Permission bits, including setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data; 0 for anything but a regular file. */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** The target of a symlink or hardlink, as in the archive. */
  linkname?: string;
  /** A regular file's bytes. The reader returns views into its input, not copies. */
  data?: Buffer;
}

export interface TarReadEntry extends Omit<TarEntry, 'type'> {
  type: TarEntryType | TarSpecialType;
  /** The raw typeflag, e.g. `S` for a GNU sparse file reported as `unknown`. */
  typeflag: string;
  /** Byte offset of the entry's first header, counting any pax or GNU long-name header before it. */
  offset: number;
}

export interface ReadTarOptions {
  maxEntries?: number;
  maxEntrySize?: number;
  maxTotalSize?: number;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * Reads a whole tar archive held in memory. File data are views into `buf`. Headers are
 * checksummed, every read is bounds-checked, and any inconsistency throws TAR_MALFORMED naming the
 * entry and its offset; the limits throw TAR_TOO_LARGE. An archive may end with a zero block or,
 * as GNU tar tolerates, exactly at a block boundary.
 */
export function readTar(buf: Buffer, options: ReadTarOptions = {}): TarReadEntry[] {
  const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
  const maxEntrySize = options.maxEntrySize ?? Number.POSITIVE_INFINITY;
  const maxTotalSize = options.maxTotalSize ?? Number.POSITIVE_INFINITY;
  const entries: TarReadEntry[] = [];
  const extended = new ExtendedHeaders();
  let entryOffset: number | undefined;
  let totalSize = 0;
  let offset = 0;

  for (;;) {
    if (offset === buf.length || isZeroBlock(buf, offset)) {
      if (entryOffset !== undefined) {
        throw malformed(`the extended header at offset ${entryOffset} is not followed by an entry`);
      }
      return entries;
    }
    if (offset + blockSize > buf.length) {
      throw malformed(
        `truncated header at offset ${offset}: ${buf.length - offset} bytes left, expected 512`,
      );
    }
    const header = buf.subarray(offset, offset + blockSize);
    const headerName = stringField(header, 'name');
    const where = () => `tar entry ${headerName} at offset ${offset}`;
    verifyChecksum(header, where);

    const typeflag = String.fromCharCode(header[field.typeflag[0]] ?? 0);
    const isMeta = ExtendedHeaders.isExtended(typeflag);
    const size = (isMeta ? undefined : extended.size) ?? numberField(header, 'size', where);
    if (size > maxEntrySize) {
      throw new OciError(
        'TAR_TOO_LARGE',
        `${where()}: size ${size} exceeds the limit of ${maxEntrySize} bytes`,
      );
    }
    const dataStart = offset + blockSize;
    const next = dataStart + paddedSize(size);
    if (next > buf.length) {
      throw malformed(
        `${where()}: ${size} bytes of data run past the end of the archive (${buf.length} bytes)`,
      );
    }
    const data = buf.subarray(dataStart, dataStart + size);
    entryOffset ??= offset;

    if (isMeta) {
      if (size > maxMetaSize) throw malformed(`${where()}: extended header of ${size} bytes exceeds 1 MiB`);
      extended.add(typeflag, data, where);
      offset = next;
      continue;
    }

    const overrides = extended.take(where);
    const path = overrides.path ?? ustarPath(header);
    const type = agreedEntryType({ typeflag, path, size }, () => `tar entry ${path} at offset ${offset}`);
    if (entries.length >= maxEntries) {
      throw new OciError(
        'TAR_TOO_LARGE',
        `tar entry ${path} at offset ${offset}: more than ${maxEntries} entries`,
      );
    }
    totalSize += size;
    if (totalSize > maxTotalSize) {
      throw new OciError(
        'TAR_TOO_LARGE',
        `tar entry ${path} at offset ${offset}: archive content exceeds the limit of ${maxTotalSize} bytes`,
      );
    }
    const entry: TarReadEntry = {
      path,
      type,
      typeflag,
      offset: entryOffset,
      ...entryMetadata(header, { type, size, overrides }, where),
    };
    if (type === 'file') entry.data = data;
    entries.push(entry);
    entryOffset = undefined;
    offset = next;
  }
}

function isZeroBlock(buf: Buffer, offset: number): boolean {
  if (offset + blockSize > buf.length) return false;
  for (let i = offset; i < offset + blockSize; i++) if (buf[i] !== 0) return false;
  return true;
}

function paddedSize(size: number): number {
  return Math.ceil(size / blockSize) * blockSize;
}

function malformed(message: string): OciError {
  return new OciError('TAR_MALFORMED', message);
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

export type ArchivePath =
  | { kind: 'ok'; path: string }
  | { kind: 'rejected'; reason: 'empty' | 'absolute' | 'parent' | 'nul' };

/**
 * An archive path made relative to the root: `./usr/bin/` becomes `usr/bin`. Absolute paths, `..`
 * components, NUL bytes and paths naming the root itself are rejected; the caller decides what a
 * rejection means (the root entry `./` of a .deb, for instance, is expected and skipped).
 */
export function normalizeArchivePath(raw: string): ArchivePath {
  if (raw.includes('\0')) return { kind: 'rejected', reason: 'nul' };
  if (raw.startsWith('/')) return { kind: 'rejected', reason: 'absolute' };
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { kind: 'rejected', reason: 'parent' };
  if (parts.length === 0) return { kind: 'rejected', reason: 'empty' };
  return { kind: 'ok', path: parts.join('/') };
}

/** Why normalizeArchivePath refused a path, as the end of "entry <path> …" (.deb data and image layers). */
export function rejectionReason(path: Extract<ArchivePath, { kind: 'rejected' }>): string {
  switch (path.reason) {
    case 'absolute':
      return 'is absolute, expected a path relative to the root';
    case 'parent':
      return 'has a ".." component';
    case 'nul':
      return 'contains a NUL byte';
    case 'empty':
      return 'names the root but is not a directory';
  }
}

/**
 * True when a relative target, resolved from the link's directory, climbs above the root.
 * Absolute targets (`/usr/bin/foo -> /etc/alternatives/foo`) are normal in Debian and resolve
 * inside the image root, so they cannot escape.
 */
export function symlinkEscapes(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false;
  let depth = linkPath.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Layer order: by the bytes of the path (trailing `/` ignored), so the order does not depend on
 * the locale or on UTF-16. A parent is a prefix of its children and therefore always precedes
 * them. The sort is stable, so duplicate paths keep their given order.
 */
export function sortTarEntries<T extends { path: string }>(entries: readonly T[]): T[] {
  return entries
    .map((entry) => ({ entry, key: Buffer.from(entry.path.replace(/\/+$/, '')) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ entry }) => entry);
}

/**
 * A deterministic ustar archive (docs/architecture.md, "Reproducible layers"): entries in the given order,
 * numeric uid/gid with empty user and group names, each entry's own mtime, no pax time records,
 * two zero blocks at the end. The bytes depend only on the entries.
 */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const headers = entries.map((entry) => encodeTarHeader(entry));
  let total = 2 * blockSize;
  for (const [i, entry] of entries.entries()) {
    total += (headers[i]?.length ?? 0) + paddedSize(dataOf(entry).length);
  }
  // Zero-filled, so the padding after each file and the end-of-archive blocks need no writes.
  const out = Buffer.alloc(total);
  let pos = 0;
  for (const [i, entry] of entries.entries()) {
    const header = headers[i] as Buffer;
    out.set(header, pos);
    pos += header.length;
    const data = dataOf(entry);
    out.set(data, pos);
    pos += paddedSize(data.length);
  }
  return out;
}

/**
 * The header block(s) of one entry, without its data: one ustar block, preceded by a pax `x`
 * header and its records when the path or link target does not fit ustar. Exported so that a
 * caller can stream or hash a layer without holding it whole.
 */
export function encodeTarHeader(entry: TarEntry, options: { streamed?: boolean } = {}): Buffer {
  // Streamed: the caller writes the file's `size` bytes after the header (tar-chunks.ts).
  validateEntry(entry, options.streamed === true);
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const pathBytes = Buffer.from(path);
  const linkBytes = Buffer.from(entry.linkname ?? '');
  const split = splitUstarPath(pathBytes);
  const paxRecords: [string, string][] = [];
  if (!split) paxRecords.push(['path', path]);
  if (linkBytes.length > field.linkname[1]) paxRecords.push(['linkpath', entry.linkname ?? '']);

  const header = ustarHeader({
    name: split?.name ?? pathBytes.subarray(0, field.name[1]),
    prefix: split?.prefix ?? Buffer.alloc(0),
    typeflag: typeflagOf(entry.type),
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type !== 'file' ? 0 : options.streamed ? entry.size : dataOf(entry).length,
    mtime: entry.mtime,
    linkname: linkBytes.subarray(0, field.linkname[1]),
  });
  if (paxRecords.length === 0) return header;

  const records = encodePaxRecords(paxRecords);
  const paxHeader = ustarHeader({
    name: paxHeaderName(pathBytes),
    prefix: Buffer.alloc(0),
    typeflag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: entry.mtime,
    linkname: Buffer.alloc(0),
  });
  const padding = Buffer.alloc(paddedSize(records.length) - records.length);
  return Buffer.concat([paxHeader, records, padding, header]);
}

function validateEntry(entry: TarEntry, streamed: boolean): void {
  const refuse = (why: string) =>
    new OciError('TAR_MALFORMED', `cannot write tar entry ${entry.path}: ${why}`);
  if (entry.path === '' || entry.path.includes('\0')) throw refuse('the path is empty or contains NUL');
  if ((entry.linkname ?? '').includes('\0')) throw refuse('the link target contains NUL');
  // No layer herd writes climbs out of the root, whatever a caller passes. A hardlink's target is a
  // path in the archive too; a symlink's is not (it resolves inside the container's root).
  const climbs = climbingPath(entry.path);
  if (climbs) throw unsafePath(entry, `the path ${climbs}`);
  const linkClimbs = entry.type === 'hardlink' ? climbingPath(entry.linkname ?? '') : undefined;
  if (linkClimbs) throw unsafePath(entry, `the hardlink target ${entry.linkname} ${linkClimbs}`);
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && !entry.linkname) {
    throw refuse('no link target');
  }
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw refuse(`size ${entry.size} is not a size`);
  if (entry.type === 'file' && entry.data && entry.data.length !== entry.size) {
    throw refuse(`size is ${entry.size} but data has ${entry.data.length} bytes`);
  }
  if (entry.type === 'file' && !entry.data && entry.size !== 0 && !streamed) {
    throw refuse(`size is ${entry.size} but no data`);
  }
  if (!Number.isSafeInteger(entry.mtime) || entry.mtime < 0) {
    throw refuse(`mtime ${entry.mtime} is not a time`);
  }
}

/** Why a path written into a layer would leave its root, or undefined when it stays inside. */
function climbingPath(path: string): string | undefined {
  if (path.startsWith('/')) return 'is absolute';
  if (path.split('/').includes('..')) return 'has a ".." component';
  return undefined;
}

function unsafePath(entry: TarEntry, why: string): OciError {
  return new OciError(
    'TAR_UNSAFE_PATH',
    `cannot write tar entry ${entry.path}: ${why}; expected a path relative to the layer root`,
  );
}

function dataOf(entry: TarEntry): Uint8Array {
  return entry.type === 'file' && entry.data ? entry.data : emptyData;
}

const emptyData = new Uint8Array(0);

function typeflagOf(type: TarEntryType): string {
  switch (type) {
    case 'file':
      return '0';
    case 'hardlink':
      return '1';
    case 'symlink':
      return '2';
    case 'dir':
      return '5';
  }
}

/**
 * ustar splits a long path at a `/` into prefix (≤ 155 bytes) and name (≤ 100 bytes). The first
 * workable slash is taken, so the choice depends on the path alone. Undefined when no split fits.
 */
function splitUstarPath(path: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  const [, nameLength] = field.name;
  if (path.length <= nameLength) return { name: path, prefix: Buffer.alloc(0) };
  const [, prefixLength] = field.prefix;
  for (let i = path.length - nameLength - 1; i <= prefixLength && i < path.length - 1; i++) {
    if (i > 0 && path[i] === 0x2f) return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
  }
  return undefined;
}

/** A fixed, content-derived name for the pax header, so nothing such as a pid leaks into the layer. */
function paxHeaderName(path: Buffer): Buffer {
  const trimmed = path[path.length - 1] === 0x2f ? path.subarray(0, -1) : path;
  const base = trimmed.subarray(trimmed.lastIndexOf(0x2f) + 1);
  return Buffer.concat([Buffer.from('PaxHeaders/'), base]).subarray(0, field.name[1]);
}

/** `"<length> <key>=<value>\n"`, where length counts its own digits too. */
function encodePaxRecords(records: [string, string][]): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const body = Buffer.from(` ${key}=${value}\n`);
      let length = body.length + 1;
      while (String(length).length + body.length !== length) length = String(length).length + body.length;
      return Buffer.concat([Buffer.from(String(length)), body]);
    }),
  );
}

interface UstarFields {
  name: Buffer;
  prefix: Buffer;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: Buffer;
}

function ustarHeader(fields: UstarFields): Buffer {
  const header = Buffer.alloc(blockSize);
  header.set(fields.name, field.name[0]);
  writeNumber(header, 'mode', fields.mode);
  writeNumber(header, 'uid', fields.uid);
  writeNumber(header, 'gid', fields.gid);
  writeNumber(header, 'size', fields.size);
  writeNumber(header, 'mtime', fields.mtime);
  header.write(fields.typeflag, field.typeflag[0], 'latin1');
  header.set(fields.linkname, field.linkname[0]);
  header.write('ustar\0', field.magic[0], 'latin1');
  header.write('00', field.version[0], 'latin1');
  // uname and gname stay empty: names would have to be looked up, and ids are what runtimes use.
  writeNumber(header, 'devmajor', 0);
  writeNumber(header, 'devminor', 0);
  header.set(fields.prefix, field.prefix[0]);
  header.fill(0x20, field.checksum[0], field.checksum[0] + field.checksum[1]);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, field.checksum[0], 'latin1');
  return header;
}

/** Octal with a NUL terminator when it fits, else GNU base-256 (which GNU tar and Go read). */
function writeNumber(header: Buffer, name: Field, value: number): void {
  const [start, length] = field[name];
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new OciError('TAR_MALFORMED', `cannot write ${name} ${value} into a tar header`);
  }
  if (value < 8 ** (length - 1)) {
    header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, start, 'latin1');
    return;
  }
  let rest = value;
  for (let i = start + length - 1; i > start; i--) {
    header[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  header[start] = 0x80;
}
