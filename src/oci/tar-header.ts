/**
 * Reading one tar header, shared by the in-memory reader (tar.ts) and the streaming one
 * (tar-stream.ts): the ustar field table, checksums, octal and base-256 numbers, pax
 * records and GNU long names. Every inconsistency throws TAR_MALFORMED naming the entry.
 * Formats: see tar.ts.
 */
import { OciError } from './errors.js';
import type { TarReadEntry } from './tar.js';

export const blockSize = 512;

/** [offset, length] of each ustar header field. */
export const field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export type Field = keyof typeof field;

/** Pax and GNU long-name headers hold a path or two; anything this big is an attack. */
export const maxMetaSize = 1 << 20;

/** What pax (`x`) and GNU (`L`, `K`) headers say about the entry that follows them. */
export interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

/**
 * The extended headers read before one entry: pax `x` and global `g`, GNU `L` and `K`. Where Go's
 * archive/tar, which podman and containerd unpack layers with, would name the entry differently
 * from herd, the archive is refused: an entry with two headers of one kind (Go keeps the last pax
 * header whole and the last long name), a pax global header among them (Go returns it as an entry
 * of its own, dropping what came before), a pax name and a GNU long name that disagree (Go takes
 * the GNU one, GNU tar the pax one).
 */
export class ExtendedHeaders {
  private pax: Overrides = {};
  private long: { path?: string; linkpath?: string } = {};
  private readonly kinds = new Set<string>();

  /** True for the typeflags of extended headers. */
  static isExtended(typeflag: string): boolean {
    return typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
  }

  /** The size a pax header gave the coming entry. */
  get size(): number | undefined {
    return this.pax.size;
  }

  add(typeflag: string, data: Buffer, where: () => string): void {
    if (this.kinds.has(typeflag) || (typeflag === 'g' && this.kinds.size > 0)) {
      throw malformed(
        `${where()}: a ${typeflag} header after ${[...this.kinds].join(', ')} headers for the same entry, expected at most one of each kind`,
      );
    }
    // 'g' (pax global) carries defaults such as charset or comments that herd never relies on.
    if (typeflag === 'g') return;
    this.kinds.add(typeflag);
    if (typeflag === 'x') this.pax = parsePaxRecords(data, where);
    // GNU long names are NUL-terminated.
    if (typeflag === 'L') this.long.path = cString(data);
    if (typeflag === 'K') this.long.linkpath = cString(data);
  }

  /** What applies to the entry whose header follows; the headers are then cleared for the next. */
  take(where: () => string): Overrides {
    for (const key of ['path', 'linkpath'] as const) {
      const [pax, gnu] = [this.pax[key], this.long[key]];
      if (pax !== undefined && gnu !== undefined && pax !== gnu) {
        throw malformed(
          `${where()}: pax ${key} ${JSON.stringify(pax)} and GNU long name ${JSON.stringify(gnu)} disagree, expected one name`,
        );
      }
    }
    const path = this.pax.path ?? this.long.path;
    const linkpath = this.pax.linkpath ?? this.long.linkpath;
    const taken: Overrides = {
      ...this.pax,
      ...(path === undefined ? {} : { path }),
      ...(linkpath === undefined ? {} : { linkpath }),
    };
    this.pax = {};
    this.long = {};
    this.kinds.clear();
    return taken;
  }
}

/** Types whose header is the whole entry: their size field is not a length of data. */
const headerOnlyTypes: ReadonlySet<TarReadEntry['type']> = new Set([
  'dir',
  'symlink',
  'hardlink',
  'char',
  'block',
  'fifo',
]);

/**
 * The type of an entry both readers agree on, else TAR_MALFORMED. Pre-POSIX tars mark a directory
 * only by the trailing slash of a `\0` (old regular file) entry, and every reader agrees; for a `0`
 * entry GNU tar makes a directory and Go's archive/tar a file, so one is refused. Go reads no data
 * after a directory, link, device or fifo header whatever its size says, while skipping `size`
 * bytes would hide the headers inside them from herd: refused too.
 */
export function agreedEntryType(
  header: { typeflag: string; path: string; size: number },
  where: () => string,
): TarReadEntry['type'] {
  const { typeflag, path, size } = header;
  if (typeflag === '0' && path.endsWith('/')) {
    throw malformed(
      `${where()}: a regular file (typeflag "0") whose name ends in "/", expected a directory (typeflag "5") or a name without it`,
    );
  }
  const type = typeflag === '\0' && path.endsWith('/') ? 'dir' : entryTypeOf(typeflag);
  if (size > 0 && headerOnlyTypes.has(type)) {
    throw malformed(`${where()}: a ${type} entry claims ${size} bytes of data, expected none`);
  }
  return type;
}

export function entryTypeOf(typeflag: string): TarReadEntry['type'] {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7': // contiguous file: a regular file everywhere that matters
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return 'unknown';
  }
}

/** The ustar `prefix` field joins the name only under the POSIX magic; GNU tar stores times there. */
export function ustarPath(header: Buffer): string {
  const name = stringField(header, 'name');
  const isPosix = header.toString('latin1', field.magic[0], field.magic[0] + 6) === 'ustar\0';
  const prefix = isPosix ? stringField(header, 'prefix') : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/**
 * Pax extended header records, each `"<length> <key>=<value>\n"` where length counts the whole
 * record. Only the keys herd uses are kept; sparse files are refused since their data need a map.
 */
export function parsePaxRecords(data: Buffer, where: () => string): Overrides {
  const overrides: Overrides = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const lengthText = space < 0 ? '' : data.toString('latin1', pos, space);
    const length = /^[1-9][0-9]{0,7}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
    const end = pos + length;
    if (!(end <= data.length && end > space + 1 && data[end - 1] === 0x0a)) {
      throw malformed(`${where()}: pax record at byte ${pos} is not "<length> <key>=<value>\\n"`);
    }
    const record = data.toString('utf8', space + 1, end - 1);
    const equals = record.indexOf('=');
    if (equals < 1) throw malformed(`${where()}: pax record ${JSON.stringify(record)} has no key`);
    applyPaxRecord(overrides, { key: record.slice(0, equals), value: record.slice(equals + 1) }, where);
    pos = end;
  }
  return overrides;
}

function applyPaxRecord(
  overrides: Overrides,
  record: { key: string; value: string },
  where: () => string,
): void {
  const { key, value } = record;
  if (key.startsWith('GNU.sparse.')) throw malformed(`${where()}: sparse files are not supported`);
  if (value === '') return; // an empty value removes a default, and herd keeps none
  const decimal = (pattern: RegExp) => {
    if (!pattern.test(value)) {
      throw malformed(`${where()}: pax ${key}=${JSON.stringify(value)} is not a number`);
    }
    return Math.floor(Number(value));
  };
  switch (key) {
    case 'path':
      overrides.path = value;
      break;
    case 'linkpath':
      overrides.linkpath = value;
      break;
    case 'size':
      overrides.size = decimal(/^[0-9]{1,15}$/);
      break;
    case 'uid':
      overrides.uid = decimal(/^[0-9]{1,15}$/);
      break;
    case 'gid':
      overrides.gid = decimal(/^[0-9]{1,15}$/);
      break;
    case 'mtime':
      overrides.mtime = decimal(/^-?[0-9]{1,15}(\.[0-9]*)?$/);
      break;
  }
}

/** Header checksum: the byte sum with the checksum field read as spaces. Old tars summed signed bytes. */
export function verifyChecksum(header: Buffer, where: () => string): void {
  const [start, length] = field.checksum;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < blockSize; i++) {
    const byte = i >= start && i < start + length ? 0x20 : (header[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  const stored = numberField(header, 'checksum', where);
  if (stored !== unsigned && stored !== signed) {
    throw malformed(`${where()}: header checksum is ${stored}, computed ${unsigned}`);
  }
}

/**
 * A numeric field: octal digits ended by NUL or space (leading spaces allowed), or GNU base-256
 * when the first byte has its high bit set (0x80 positive, 0xff negative).
 */
export function numberField(header: Buffer, name: Field, where: () => string): number {
  const [start, length] = field[name];
  const first = header[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw malformed(`${where()}: ${name} is negative`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i++) {
      value = value * 256 + (header[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) throw malformed(`${where()}: ${name} is too large`);
    }
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && header[i] === 0x20) i++;
  let value = 0;
  for (; i < end; i++) {
    const byte = header[i] ?? 0;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) {
      const text = JSON.stringify(header.toString('latin1', start, end));
      throw malformed(`${where()}: ${name} field ${text} is not octal`);
    }
    value = value * 8 + (byte - 0x30);
  }
  return value;
}

/** An entry's metadata as both tar readers report it: the header's fields, pax records first. */
export function entryMetadata(
  header: Buffer,
  entry: { type: TarReadEntry['type']; size: number; overrides: Overrides },
  where: () => string,
): { mode: number; uid: number; gid: number; size: number; mtime: number; linkname?: string } {
  const { type, overrides } = entry;
  const metadata = {
    mode: numberField(header, 'mode', where) & 0o7777,
    uid: overrides.uid ?? numberField(header, 'uid', where),
    gid: overrides.gid ?? numberField(header, 'gid', where),
    size: type === 'file' ? entry.size : 0,
    mtime: overrides.mtime ?? numberField(header, 'mtime', where),
  };
  if (type !== 'symlink' && type !== 'hardlink') return metadata;
  return { ...metadata, linkname: overrides.linkpath ?? stringField(header, 'linkname') };
}

export function stringField(header: Buffer, name: Field): string {
  const [start, length] = field[name];
  return cString(header.subarray(start, start + length));
}

/** Bytes up to the first NUL, as UTF-8 (what pax mandates and what Debian paths are). */
export function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
}

function malformed(message: string): OciError {
  return new OciError('TAR_MALFORMED', message);
}
