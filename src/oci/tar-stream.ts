/**
 * A tar reader over a stream, for exports that do not fit in memory: headers are checked as
 * hostile (checksum, octal fields, pax records, paths), file data is handed out chunk by chunk and
 * skipped when the caller does not read it. An archive that ends before its end-of-archive block,
 * or inside an entry, is TRUNCATED: a cut stream must never read as a shorter, clean filesystem.
 * Formats as in src/oci/tar.ts (ustar, pax, GNU long names and base-256 numbers).
 */
import { OciError } from '../oci/errors.js';
import { normalizeArchivePath, type TarReadEntry } from '../oci/tar.js';
import {
  blockSize,
  cString,
  entryTypeOf,
  field,
  maxMetaSize,
  numberField,
  type Overrides,
  parsePaxRecords,
  stringField,
  ustarPath,
  verifyChecksum,
} from '../oci/tar-header.js';
import { WatchError } from './errors.js';

export interface StreamEntry {
  /** Absolute, normalized: `/usr/bin/x`. */
  path: string;
  type: TarReadEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data (regular files only). */
  size: number;
  /** Seconds since the epoch, as the archive says (pax `mtime` keeps the fraction). */
  mtime?: number;
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
  try {
    yield* readEntries(source, limits);
  } catch (error) {
    // The header checks are src/oci's; here a bad header means a forged export.
    if (error instanceof OciError) throw malformed(error.message);
    throw error;
  }
}

async function* readEntries(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  limits: TarStreamLimits,
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
      mtime: overrides.mtime ?? numberField(header, 'mtime', where),
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

function malformed(message: string): WatchError {
  return new WatchError('EXPORT_MALFORMED', message);
}

function truncated(message: string): WatchError {
  return new WatchError('EXPORT_TRUNCATED', message);
}
