/**
 * The flattened-layer cache: each layer read once, then kept uncompressed under its diff_id, so a
 * second reader of the image needs no gunzip. An entry is two files in HERD_HOME/cache/flattened:
 *
 * - `<hex>.index`: the seal (cache-seal.ts, HMAC under a key outside the cache), a newline, and
 *   JSON of the layer's tar entries in tar order: path, type, mode, owner, size, link target and,
 *   for a regular file, where its bytes are, their sha256 and whether they look binary. The
 *   metadata of every file is here, so a reader walks the image without touching its bytes.
 * - `<hex>.content`: the regular files' bytes, back to back.
 *
 * Trust: an entry is derived only from a blob the store verified by its digest, whose uncompressed
 * bytes hash to the diff_id the image's config names (else DIGEST_MISMATCH, naming the layer). An
 * index whose seal does not verify (edited, copied from another HERD_HOME, cut short) is thrown away
 * and derived again from the blob; a file's bytes that do not hash to what the sealed index says
 * are CACHE_TAMPERED, naming the layer and the path. So whoever can write the cache can make herd
 * do the work again, never see other files. Files are 0600 in a 0700 folder, written to a temp file
 * and renamed, the index last: an index names only content that is whole.
 *
 * The entries are the tar reader's (tar-stream.ts), unchanged: flatten-layers.ts applies them with
 * the same rules as layers read in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFile, readRegularFile, writeAtomic } from '../common/index.js';
import { CacheSeal } from './cache-seal.js';
import { decompressChunks } from './decompress.js';
import { hexOf } from './digest.js';
import { OciError } from './errors.js';
import type { FileContentRef, LayerEntries, LayerEntry } from './flatten-layers.js';
import type { LayoutStore } from './layout-store.js';
import type { TarReadEntry } from './tar.js';
import { readTarStream, type TarStreamLimits } from './tar-stream.js';
import { type Descriptor, type Digest, MediaType } from './types.js';

/** Bumped when the index's shape changes: an older entry is derived again, never misread. */
const indexVersion = 2;
const sealPurpose = 'flattened-layer';
const binarySniffBytes = 8192;
/** Far past the index of any real layer; a larger file there was not written by herd. */
const maxIndexFileBytes = 1024 ** 3;

/** OCI's, and Docker's for images pulled in the Docker v2 schema 2 format. */
const gzipLayerTypes: ReadonlySet<string> = new Set([
  MediaType.layerGzip,
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

export interface FlattenedLayerCacheOptions {
  /** HERD_HOME/keys/cache-seal.key, made on first use. */
  sealKey: string;
  /** The most a layer may decompress to; past it the layer is DECOMPRESSED_TOO_LARGE. */
  maxLayerBytes: number;
  maxEntries?: number;
}

/** How an entry was had: `hit` from the cache, `derived` from the blob (first read, or a bad seal). */
export type CachedLayerSource = 'hit' | 'derived';

export interface CachedLayer extends LayerEntries {
  source: CachedLayerSource;
}

/** One index entry: a tar entry without its bytes, with where they are. */
interface IndexedEntry {
  path: string;
  type: TarReadEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  /** Regular files: offset, sha256, binary. */
  content?: Omit<FileContentRef, 'layer'>;
}

interface LayerIndex {
  version: number;
  diffId: string;
  /**
   * The blob this index was derived from and checked against. A hit needs the image's own blob:
   * the diff_id alone is only what an image's config claims, so another image naming a cached
   * diff_id with a different blob would otherwise be judged by layers it does not contain.
   */
  blob: string;
  contentSize: number;
  entries: IndexedEntry[];
}

export class FlattenedLayerCache {
  readonly dir: string;
  private readonly options: FlattenedLayerCacheOptions;
  private seal: Promise<CacheSeal> | undefined;
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(dir: string, options: FlattenedLayerCacheOptions) {
    this.dir = dir;
    this.options = options;
  }

  /**
   * The entries of the layer `descriptor` whose uncompressed digest is `diffId`: from the cache
   * when its sealed index is there, else read from the store's blob, checked and cached.
   */
  async layer(store: LayoutStore, descriptor: Descriptor, diffId: Digest): Promise<CachedLayer> {
    const cached = await this.readIndex(diffId, descriptor.digest);
    if (cached) return { digest: diffId, entries: entriesOf(cached, diffId), source: 'hit' };
    const derived = await this.derive(store, descriptor, diffId);
    return { digest: diffId, entries: entriesOf(derived, diffId), source: 'derived' };
  }

  /**
   * A regular file's bytes, checked against the sealed index's sha256. Each layer's content file is
   * opened once for a run of reads; `close` closes them.
   */
  async read(ref: FileContentRef, size: number, name: string): Promise<Buffer> {
    const bytes = Buffer.alloc(size);
    let read = 0;
    try {
      const file = await this.contentHandle(ref.layer);
      while (read < size) {
        const { bytesRead } = await file.read(bytes, read, size - read, ref.offset + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
    } catch (error) {
      throw tampered(ref, name, `cannot be read (${(error as Error).message})`, error);
    }
    if (read !== size) throw tampered(ref, name, `has ${read} bytes, the sealed index says ${size}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== ref.sha256) {
      throw tampered(ref, name, `hashes to sha256:${sha256}, the sealed index says sha256:${ref.sha256}`);
    }
    return bytes;
  }

  /** Closes the content files `read` opened; a later read opens them again. */
  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (handle) => (await handle.catch(() => undefined))?.close()));
  }

  private contentHandle(diffId: string): Promise<FileHandle> {
    let handle = this.handles.get(diffId);
    if (!handle) {
      handle = openContent(this.contentPath(diffId));
      this.handles.set(diffId, handle);
    }
    return handle;
  }

  private indexPath(diffId: string): string {
    return join(this.dir, `${hexOf(diffId as Digest)}.index`);
  }

  private contentPath(diffId: string): string {
    return join(this.dir, `${hexOf(diffId as Digest)}.content`);
  }

  private openSeal(): Promise<CacheSeal> {
    this.seal ??= CacheSeal.open(this.options.sealKey);
    return this.seal;
  }

  /** The sealed index, or undefined when there is none or it does not verify (then it is derived again). */
  private async readIndex(diffId: Digest, blob: Digest): Promise<LayerIndex | undefined> {
    // Anything but a regular file here (a FIFO, a link to /dev/zero) is not read: derived again
    // and renamed over, as an index whose seal does not verify is.
    const read = await readRegularFile(this.indexPath(diffId), { maxBytes: maxIndexFileBytes });
    if (read.kind !== 'file') return undefined;
    const text = read.bytes.toString('utf8');
    const newline = text.indexOf('\n');
    const body = text.slice(newline + 1);
    const seal = await this.openSeal();
    if (newline < 0 || !seal.verify(`${sealPurpose} ${diffId}`, body, text.slice(0, newline)))
      return undefined;
    const index = JSON.parse(body) as LayerIndex;
    return index.version === indexVersion && index.diffId === diffId && index.blob === blob
      ? index
      : undefined;
  }

  private async derive(store: LayoutStore, descriptor: Descriptor, diffId: Digest): Promise<LayerIndex> {
    const seal = await this.openSeal();
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // The blob is streamed from the store, hashed as it goes, and nothing is kept unless it hashes
    // to its digest: the whole blob never sits in memory.
    const blobHash = createHash('sha256');
    const blob = (async function* () {
      for await (const chunk of blobChunks(store, descriptor.digest)) {
        blobHash.update(chunk);
        yield chunk;
      }
    })();
    const tar = tarChunks(blob, descriptor, this.options.maxLayerBytes);
    const layerHash = createHash('sha256');
    const hashed = (async function* () {
      for await (const chunk of tar) {
        layerHash.update(chunk);
        yield chunk;
      }
    })();
    const entries: IndexedEntry[] = [];
    const contentPath = this.contentPath(diffId);
    const temp = `${contentPath}.${randomBytes(6).toString('hex')}.tmp`;
    let offset = 0;
    const file = await open(temp, 'wx', 0o600);
    const contentFile = new BatchedWriter(file);
    try {
      const limits: TarStreamLimits = { maxEntries: this.options.maxEntries ?? 1_000_000 };
      for await (const { entry, content } of readTarStream(hashed, limits)) {
        // The stream reader hands out normalized absolute paths; the index keeps the archive's
        // relative form, which flatten-layers.ts normalizes and judges as it does readTar's.
        const indexed: IndexedEntry = {
          path: entry.path === '/' ? './' : entry.path.slice(1),
          type: entry.type,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          size: entry.size,
          ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
        };
        if (entry.type === 'file') {
          const fileHash = createHash('sha256');
          let sniffed = 0;
          let binary = false;
          for await (const chunk of content) {
            if (sniffed < binarySniffBytes) {
              binary ||= chunk.subarray(0, binarySniffBytes - sniffed).includes(0);
              sniffed += chunk.length;
            }
            fileHash.update(chunk);
            await contentFile.write(chunk);
          }
          indexed.content = { offset, sha256: fileHash.digest('hex'), binary };
          offset += entry.size;
        }
        entries.push(indexed);
      }
      // The tar ends at its end-of-archive block; the diff_id covers the stream to its last byte.
      for await (const _rest of hashed);
      await contentFile.flush();
    } catch (error) {
      await hashed.return(undefined);
      await file.close();
      await rm(temp, { force: true });
      throw error;
    }
    await file.close();
    const blobDigest = `sha256:${blobHash.digest('hex')}`;
    if (blobDigest !== descriptor.digest) {
      await rm(temp, { force: true });
      throw new OciError(
        'DIGEST_MISMATCH',
        `blob ${descriptor.digest} in the store hashes to ${blobDigest}; it was changed on disk`,
      );
    }
    const actual = `sha256:${layerHash.digest('hex')}`;
    if (actual !== diffId) {
      await rm(temp, { force: true });
      throw new OciError(
        'DIGEST_MISMATCH',
        `layer ${descriptor.digest} uncompresses to ${actual}, but the image's config names diff_id ${diffId}`,
      );
    }
    await rename(temp, contentPath);
    const index: LayerIndex = {
      version: indexVersion,
      diffId,
      blob: descriptor.digest,
      contentSize: offset,
      entries,
    };
    const body = JSON.stringify(index);
    await writeAtomic(this.indexPath(diffId), `${seal.seal(`${sealPurpose} ${diffId}`, body)}\n${body}`, {
      mode: 0o600,
    });
    return index;
  }
}

/**
 * Writes a layer's files to its content file in runs of about a mebibyte, one system call each: a
 * file's bytes come out of the tar reader as pieces of gunzip's chunks (a small file is one piece),
 * and one write per piece was thousands of trips through libuv's pool for hello. The chunks are the
 * decompressor's own, never reused, so holding them is safe.
 */
class BatchedWriter {
  private pending: Buffer[] = [];
  private size = 0;

  constructor(private readonly file: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.size += chunk.length;
    if (this.size >= batchBytes) await this.flush();
  }

  async flush(): Promise<void> {
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    this.size = 0;
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    let written = 0;
    // writev may write less than asked (a full disk, a signal): what is left goes again.
    while (written < total) {
      const { bytesWritten } = await this.file.writev(unwritten(chunks, written));
      if (bytesWritten === 0) throw new Error('the content file took no bytes');
      written += bytesWritten;
    }
  }
}

const batchBytes = 1024 * 1024;

function unwritten(chunks: Buffer[], skip: number): Buffer[] {
  if (skip === 0) return chunks;
  const rest: Buffer[] = [];
  let left = skip;
  for (const chunk of chunks) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    rest.push(left > 0 ? chunk.subarray(left) : chunk);
    left = 0;
  }
  return rest;
}

function entriesOf(index: LayerIndex, diffId: Digest): LayerEntry[] {
  return index.entries.map(({ content, ...entry }) =>
    content ? { ...entry, content: { ...content, layer: diffId } } : entry,
  );
}

/** The store's blob, chunk by chunk; not there is BLOB_NOT_FOUND, as the store says it. */
async function* blobChunks(store: LayoutStore, digest: Digest): AsyncGenerator<Buffer> {
  const { handle } = await store.openBlob(digest);
  yield* handle.createReadStream({ highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
}

/**
 * A layer's content file, opened only if it is a regular file: anything else planted in its place
 * (a FIFO would block every read) is refused as changed content is, CACHE_TAMPERED via `read`.
 */
async function openContent(path: string): Promise<FileHandle> {
  const opened = await openRegularFile(path);
  if (opened.kind === 'file') return opened.handle;
  throw new Error(
    opened.kind === 'missing' ? `${path} is missing` : `${path} is ${opened.what}, not a regular file`,
  );
}

/** A layer blob as its tar's bytes, streamed: plain tar as it is, gzip inflated within the cap. */
function tarChunks(
  blob: AsyncIterable<Buffer>,
  layer: Pick<Descriptor, 'digest' | 'mediaType'>,
  maxBytes: number,
): AsyncIterable<Buffer> {
  if (layer.mediaType === MediaType.layerTar) return blob;
  if (!gzipLayerTypes.has(layer.mediaType)) {
    throw new OciError(
      'LAYER_UNSUPPORTED',
      `layer ${layer.digest} is a ${layer.mediaType}, expected a tar or gzip layer (${MediaType.layerGzip} or ${MediaType.layerTar})`,
    );
  }
  return decompressChunks(blob, {
    compression: 'gzip',
    name: `layer ${layer.digest}`,
    maxBytes,
    chunkBytes: layerChunkBytes,
  });
}

/**
 * gunzip's output chunks for a layer: a mebibyte, not zlib's 64 KiB. Every chunk is a trip through
 * the thread pool, four async generators (blob hash, decoder, diff_id hash, tar reader) and a
 * write; measured on hello's 37 MB layer, gunzip alone took about a quarter less CPU. Two layers
 * at once hold a few of these, far below the gate's memory goal.
 */
const layerChunkBytes = 1024 * 1024;

function tampered(ref: FileContentRef, name: string, why: string, cause?: unknown): OciError {
  return new OciError(
    'CACHE_TAMPERED',
    `the flattened-layer cache's copy of ${name} in layer ${ref.layer} ${why}; remove the cache entry of ${ref.layer} to read the layer again`,
    cause === undefined ? undefined : { cause },
  );
}
