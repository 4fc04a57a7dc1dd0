/**
 * A tar reader over a stream, for exports that do not fit in memory: headers are checked as
 * hostile (checksum, octal fields, pax records, paths), file data is handed out chunk by chunk and
 * skipped when the caller does not read it. An archive that ends before its end-of-archive block,
 * or inside an entry, is TRUNCATED: a cut stream must never read as a shorter, clean filesystem.
 * Formats as in src/oci/tar.ts (ustar, pax, GNU long names and base-256 numbers).
 */
import { normalizeArchivePath, type TarReadEntry } from '../oci/tar.js';
import { WatchError } from './errors.js';

const blockSize = 512;
/** Pax and GNU long-name headers hold a path or two; anything bigger is an attack. */
const maxMetaSize = 1 << 20;

export interface StreamEntry {
  /** Absolute, normalized: `/usr/bin/x`. */
  path: string;
  type: TarReadEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data (regular files only). */
  size: number;
  /** Symlink or hardlink target, as in the archive. */
  linkname?: string;
}

export interface TarStreamLimits {
  maxEntries?: number;
}

export interface TarStreamItem {
  entry: StreamEntry;
  /** The file's bytes, in order; what is not read is skipped before the next entry. */
  content: AsyncIterable<Buffer>;
}

export async function* readTarStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  limits: TarStreamLimits = {},
): AsyncGenerator<TarStreamItem> {
  const maxEntries = limits.maxEntries ?? 2_000_000;
  const bytes = new ByteSource(source);
  let overrides: Overrides = {};
  let entries = 0;
  for (;;) {
    const offset = bytes.position;
    const header = await bytes.exactly(blockSize, () => `the header at offset ${offset}`);
    if (!header) throw truncated(`the archive ended at offset ${offset} without its end-of-archive block`);
    if (header.every((byte) => byte === 0)) return;
    const name = stringField(header, 'name');
    const where = () => `tar entry ${name} at offset ${offset}`;
    verifyChecksum(header, where);
    const typeflag = String.fromCharCode(header[field.typeflag[0]] ?? 0);
    const isMeta = typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
    const size = (isMeta ? undefined : overrides.size) ?? numberField(header, 'size', where);
    const padded = Math.ceil(size / blockSize) * blockSize;

    if (isMeta) {
      if (size > maxMetaSize) throw malformed(`${where()}: extended header of ${size} bytes exceeds 1 MiB`);
      const data = (await bytes.exactly(padded, where))?.subarray(0, size);
      if (!data) throw truncated(`${where()}: the archive ended inside an extended header`);
      if (typeflag === 'x') overrides = { ...overrides, ...parsePaxRecords(data, where) };
      if (typeflag === 'L') overrides.path ??= cString(data);
      if (typeflag === 'K') overrides.linkpath ??= cString(data);
      continue;
    }

    if (++entries > maxEntries) {
      throw new WatchError('EXPORT_TOO_LARGE', `${where()}: more than ${maxEntries} entries`);
    }
    const rawPath = overrides.path ?? ustarPath(header);
    const type =
      (typeflag === '0' || typeflag === '\0') && rawPath.endsWith('/') ? 'dir' : entryTypeOf(typeflag);
    const normalized = normalizeArchivePath(rawPath);
    // The root itself (`./`) is the only rejected path an export may hold.
    if (normalized.kind === 'rejected' && !(normalized.reason === 'empty' && type === 'dir')) {
      throw malformed(`${where()}: path ${JSON.stringify(rawPath)} is ${normalized.reason}`);
    }
    const entry: StreamEntry = {
      path: normalized.kind === 'ok' ? `/${normalized.path}` : '/',
      type,
      mode: numberField(header, 'mode', where) & 0o7777,
      uid: overrides.uid ?? numberField(header, 'uid', where),
      gid: overrides.gid ?? numberField(header, 'gid', where),
      size: type === 'file' ? size : 0,
    };
    if (type === 'symlink' || type === 'hardlink') {
      entry.linkname = overrides.linkpath ?? stringField(header, 'linkname');
    }
    overrides = {};
    let remaining = size;
    const content = (async function* () {
      while (remaining > 0) {
        const chunk = await bytes.take(remaining);
        if (!chunk)
          throw truncated(`${where()}: the archive ended ${remaining} bytes before the entry's end`);
        remaining -= chunk.length;
        yield chunk;
      }
    })();
    yield { entry, content };
    // What the caller left unread, then the padding to the next block.
    while (remaining > 0) {
      const chunk = await bytes.take(remaining);
      if (!chunk) throw truncated(`${where()}: the archive ended ${remaining} bytes before the entry's end`);
      remaining -= chunk.length;
    }
    if (padded > size && !(await bytes.exactly(padded - size, where))) {
      throw truncated(`${where()}: the archive ended inside the entry's padding`);
    }
  }
}

/** Pulls exact byte counts out of a chunked stream, holding at most one chunk. */
class ByteSource {
  position = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer | Uint8Array | string>;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes, or undefined at the end of the stream. */
  async take(max: number): Promise<Buffer | undefined> {
    while (this.chunk.length === 0) {
      if (this.ended) return undefined;
      const next = await this.iterator.next();
      if (next.done) {
        this.ended = true;
        return undefined;
      }
      this.chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    }
    const part = this.chunk.subarray(0, max);
    this.chunk = this.chunk.subarray(part.length);
    this.position += part.length;
    return part;
  }

  /** Exactly `count` bytes; undefined if the stream had ended before the first; TRUNCATED if it ends midway. */
  async exactly(count: number, where: () => string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < count) {
      const part = await this.take(count - have);
      if (!part) {
        if (have === 0) return undefined;
        throw truncated(`${where()}: the archive ended ${count - have} bytes short`);
      }
      parts.push(part);
      have += part.length;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/** [offset, length] of each ustar header field. */
const field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

type Field = keyof typeof field;

interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
}

function entryTypeOf(typeflag: string): TarReadEntry['type'] {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
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

function ustarPath(header: Buffer): string {
  const name = stringField(header, 'name');
  const isPosix = header.toString('latin1', field.magic[0], field.magic[0] + 6) === 'ustar\0';
  const prefix = isPosix ? stringField(header, 'prefix') : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** `"<length> <key>=<value>\n"` records; only the keys read here are kept, sparse files refused. */
function parsePaxRecords(data: Buffer, where: () => string): Overrides {
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
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key.startsWith('GNU.sparse.')) throw malformed(`${where()}: sparse files are not supported`);
    const decimal = () => {
      if (!/^[0-9]{1,15}$/.test(value))
        throw malformed(`${where()}: pax ${key}=${JSON.stringify(value)} is not a number`);
      return Number(value);
    };
    if (value !== '') {
      if (key === 'path') overrides.path = value;
      else if (key === 'linkpath') overrides.linkpath = value;
      else if (key === 'size') overrides.size = decimal();
      else if (key === 'uid') overrides.uid = decimal();
      else if (key === 'gid') overrides.gid = decimal();
    }
    pos = end;
  }
  return overrides;
}

function verifyChecksum(header: Buffer, where: () => string): void {
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

function numberField(header: Buffer, name: Field, where: () => string): number {
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
      throw malformed(
        `${where()}: ${name} field ${JSON.stringify(header.toString('latin1', start, end))} is not octal`,
      );
    }
    value = value * 8 + (byte - 0x30);
  }
  return value;
}

function stringField(header: Buffer, name: Field): string {
  const [start, length] = field[name];
  return cString(header.subarray(start, start + length));
}

function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
}

function malformed(message: string): WatchError {
  return new WatchError('EXPORT_MALFORMED', message);
}

function truncated(message: string): WatchError {
  return new WatchError('EXPORT_TRUNCATED', message);
}
