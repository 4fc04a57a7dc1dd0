/**
 * A tar reader over a stream, for archives that do not fit in memory (an instance's export, one
 * path read from an engine): headers are checked as hostile (checksum, octal fields, pax records,
 * paths), file data is handed out chunk by chunk and skipped when the caller does not read it.
 * An archive that ends before its end-of-archive block, or inside an entry, is TAR_TRUNCATED: a cut
 * stream must never read as a shorter, clean filesystem. Other bad input is TAR_MALFORMED, and
 * more entries than the limit TAR_TOO_LARGE. Formats as in tar.ts (ustar, pax, GNU long names
 * and base-256 numbers).
 */
import { OciError } from './errors.js';
import { normalizeArchivePath, type TarReadEntry } from './tar.js';
import {
  agreedEntryType,
  blockSize,
  ExtendedHeaders,
  entryMetadata,
  field,
  maxMetaSize,
  numberField,
  stringField,
  ustarPath,
  verifyChecksum,
} from './tar-header.js';

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
  /**
   * `yield`: an entry whose path is absolute, climbs with `..` or is empty is handed out with
   * `path` '' for the caller to refuse in its own terms (a .deb's DEB_UNSAFE_PATH); by default
   * such an entry is TAR_MALFORMED.
   */
  unsafePaths?: 'refuse' | 'yield';
}

export interface TarStreamItem {
  entry: StreamEntry;
  /** The file's bytes, in order; what is not read is skipped before the next entry. */
  content: AsyncIterable<Buffer>;
}

/** An item as readTarStream yields it: with where it is in the archive and how it is spelled there. */
export interface TarStreamRecord extends TarStreamItem {
  /** The path as the archive spells it, before normalization. */
  rawPath: string;
  /** Where the entry's bytes start in the archive: a file's content is the `size` bytes from here. */
  dataOffset: number;
  /** The raw typeflag, e.g. `S` for a GNU sparse file reported as `unknown`. */
  typeflag: string;
}

export async function* readTarStream(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  limits: TarStreamLimits = {},
): AsyncGenerator<TarStreamRecord> {
  const maxEntries = limits.maxEntries ?? 2_000_000;
  const bytes = new ByteSource(source);
  const extended = new ExtendedHeaders();
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
    const isMeta = ExtendedHeaders.isExtended(typeflag);
    const size = (isMeta ? undefined : extended.size) ?? numberField(header, 'size', where);
    const padded = Math.ceil(size / blockSize) * blockSize;

    if (isMeta) {
      if (size > maxMetaSize) throw malformed(`${where()}: extended header of ${size} bytes exceeds 1 MiB`);
      const data = (await bytes.exactly(padded, where))?.subarray(0, size);
      if (!data) throw truncated(`${where()}: the archive ended inside an extended header`);
      extended.add(typeflag, data, where);
      continue;
    }

    if (++entries > maxEntries) {
      throw new OciError('TAR_TOO_LARGE', `${where()}: more than ${maxEntries} entries`);
    }
    const overrides = extended.take(where);
    const rawPath = overrides.path ?? ustarPath(header);
    const type = agreedEntryType(
      { typeflag, path: rawPath, size },
      () => `tar entry ${rawPath} at offset ${offset}`,
    );
    const normalized = normalizeArchivePath(rawPath);
    // The root itself (`./`) is the only rejected path an export may hold.
    const isRoot = normalized.kind === 'rejected' && normalized.reason === 'empty' && type === 'dir';
    if (normalized.kind === 'rejected' && !isRoot && limits.unsafePaths !== 'yield') {
      throw malformed(`${where()}: path ${JSON.stringify(rawPath)} is ${normalized.reason}`);
    }
    const entry: StreamEntry = {
      path: normalized.kind === 'ok' ? `/${normalized.path}` : isRoot ? '/' : '',
      type,
      ...entryMetadata(header, { type, size, overrides }, where),
    };
    let remaining = size;
    const dataOffset = bytes.position;
    const content = (async function* () {
      while (remaining > 0) {
        const chunk = await bytes.take(remaining);
        if (!chunk)
          throw truncated(`${where()}: the archive ended ${remaining} bytes before the entry's end`);
        remaining -= chunk.length;
        yield chunk;
      }
    })();
    yield { entry, content, rawPath, dataOffset, typeflag };
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

/**
 * The first `bytes` of an entry's content, all of it when shorter. The rest is never read into
 * memory: the stream skips it before the next entry, or the caller cuts the stream.
 */
export async function readHead(content: AsyncIterable<Buffer>, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let kept = 0;
  if (bytes <= 0) return Buffer.alloc(0);
  for await (const chunk of content) {
    const part = chunk.subarray(0, bytes - kept);
    parts.push(part);
    kept += part.length;
    if (kept >= bytes) break;
  }
  return Buffer.concat(parts);
}

/**
 * The first `bytes` of the archive's first entry when it is a regular file; undefined when it is
 * anything else, or the archive is empty. An engine's archive of one path starts with that path,
 * so a folder put where a file was is never read as the file inside it.
 */
export async function firstFileHead(
  items: AsyncIterable<TarStreamItem>,
  bytes: number,
): Promise<Buffer | undefined> {
  for await (const { entry, content } of items) {
    return entry.type === 'file' ? await readHead(content, bytes) : undefined;
  }
  return undefined;
}

function malformed(message: string): OciError {
  return new OciError('TAR_MALFORMED', message);
}

function truncated(message: string): OciError {
  return new OciError('TAR_TRUNCATED', message);
}
