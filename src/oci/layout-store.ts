/**
 * herd's local image store: an OCI image layout (image-layout.md) at HERD_HOME/store.
 * Blobs are written to a temp file and renamed into place, so a crash never leaves a partial blob
 * under its digest. Every read re-hashes the blob: a blob whose bytes no longer match its name is
 * refused, never served.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/image-layout.md
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compactJson,
  exists,
  openRegularFile,
  type RegularFileOpen,
  readRegularFile,
  writeAtomic,
} from '../common/index.js';
import { hexOf, sha256Digest } from './digest.js';
import { OciError } from './errors.js';
import { withStoreLock } from './store-lock.js';
import { type Descriptor, type Digest, type ImageIndex, type ImageManifest, MediaType } from './types.js';

export const refNameAnnotation = 'org.opencontainers.image.ref.name';
/** Why an image in index.json has no name yet; see `LayoutStore.quarantine`. */
export const quarantineReasonAnnotation = 'dev.herd.quarantine.reason';
/** The name a quarantined image gets once its gate passes. */
export const intendedNameAnnotation = 'dev.herd.quarantine.ref-name';

/**
 * On an index.json entry that is a referrer: the digest of the image it refers to. Such entries
 * are artifacts (SBOMs, provenance, verdicts), never images to list or run.
 */
export const referrerSubjectAnnotation = 'dev.herd.referrer.subject';

/** referrers.json: referrers by subject, and the digest of the index.json they were read from. */
interface ReferrersCache {
  index: Digest;
  referrers: Record<string, Descriptor[]>;
}

function isReferrersCache(data: unknown): data is ReferrersCache {
  const cache = data as Partial<ReferrersCache> | undefined;
  return (
    typeof cache === 'object' &&
    cache !== null &&
    typeof cache.index === 'string' &&
    typeof cache.referrers === 'object' &&
    cache.referrers !== null
  );
}

/**
 * `index` with the referrers of an old store's referrers.json (subjects mapped straight to lists,
 * from before referrers were entries of index.json) added as entries; unchanged for a cache.
 */
function withLegacyReferrers(index: ImageIndex, legacy: unknown): ImageIndex {
  if (typeof legacy !== 'object' || legacy === null || isReferrersCache(legacy)) return index;
  const known = new Set(index.manifests.map((m) => m.digest));
  const added: Descriptor[] = [];
  for (const [subject, list] of Object.entries(legacy as Record<string, Descriptor[]>)) {
    for (const descriptor of Array.isArray(list) ? list : []) {
      if (known.has(descriptor.digest)) continue;
      known.add(descriptor.digest);
      added.push({
        ...descriptor,
        annotations: { ...descriptor.annotations, [referrerSubjectAnnotation]: subject },
      });
    }
  }
  return added.length > 0 ? { ...index, manifests: [...index.manifests, ...added] } : index;
}

/** Whether an index.json entry is an artifact that refers to an image, not an image. */
export function isReferrerEntry(entry: Descriptor): boolean {
  return entry.annotations?.[referrerSubjectAnnotation] !== undefined || entry.artifactType !== undefined;
}

/** `not-gated`: built, no verdict yet (or `--no-gate`); `gate-failed`: its latest gate failed. */
export type QuarantineReason = 'not-gated' | 'gate-failed';

export interface QuarantinedImage {
  digest: Digest;
  reason: QuarantineReason;
  intendedName: string;
}

export class LayoutStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Creates the layout's skeleton if it is not there yet. */
  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    if (!(await exists(join(this.root, 'oci-layout')))) {
      await writeAtomic(
        join(this.root, 'oci-layout'),
        `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`,
      );
    }
    if (!(await exists(join(this.root, 'index.json')))) {
      await this.writeIndex({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] });
    }
  }

  blobPath(digest: Digest): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return isRegularFile(this.blobPath(digest));
  }

  /**
   * Stores bytes under their digest. An existing blob is kept: same digest, same bytes. Anything
   * else at its path (a FIFO, a link, planted by whoever can write the store) is replaced.
   */
  async putBlob(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const path = this.blobPath(digest);
    if (!(await isRegularFile(path))) await writeAtomic(path, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /**
   * Stores a stream of bytes (a layer as it is compressed), hashed as it is written to a temp file
   * in the store, then renamed under its digest: never whole in memory, never partial under a name.
   */
  async putBlobChunks(chunks: AsyncIterable<Uint8Array>, mediaType: string): Promise<Descriptor> {
    const dir = join(this.root, 'blobs', 'sha256');
    const temp = join(dir, `.incoming-${process.pid}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      const file = await open(temp, 'wx', 0o600);
      try {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          await file.write(chunk);
        }
      } finally {
        await file.close();
      }
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      const path = this.blobPath(digest);
      if (!(await isRegularFile(path))) await rename(temp, path);
      return { mediaType, digest, size };
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Stores a JSON document exactly as serialized: callers build objects in a fixed key order. */
  async putJson(document: unknown, mediaType: string): Promise<Descriptor> {
    return this.putBlob(Buffer.from(compactJson(document)), mediaType);
  }

  /**
   * A blob opened for reading, not yet verified: the caller hashes what it reads. Only a regular
   * file is opened: a FIFO, a socket, a device or a link at its path (a read that never starts or
   * never ends) is refused as a tampered blob is, DIGEST_MISMATCH; nothing there is BLOB_NOT_FOUND.
   */
  async openBlob(digest: Digest): Promise<{ handle: FileHandle; size: number }> {
    let opened: RegularFileOpen;
    try {
      opened = await openRegularFile(this.blobPath(digest));
    } catch (error) {
      throw new OciError('BLOB_NOT_FOUND', `blob ${digest} in the store at ${this.root} cannot be read`, {
        cause: error,
      });
    }
    switch (opened.kind) {
      case 'file':
        return { handle: opened.handle, size: opened.size };
      case 'missing':
        throw new OciError('BLOB_NOT_FOUND', `blob ${digest} is not in the store at ${this.root}`);
      case 'not-regular':
        throw new OciError(
          'DIGEST_MISMATCH',
          `blob ${digest} in the store at ${this.root} is corrupt or tampered: it is ${opened.what}, not a regular file`,
        );
    }
  }

  /** Reads a blob and verifies its content against its digest. */
  async getBlob(digest: Digest): Promise<Buffer> {
    const { handle } = await this.openBlob(digest);
    let bytes: Buffer;
    try {
      bytes = await handle.readFile();
    } catch {
      throw new OciError('BLOB_NOT_FOUND', `blob ${digest} is not in the store at ${this.root}`);
    } finally {
      await handle.close();
    }
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      throw new OciError(
        'DIGEST_MISMATCH',
        `blob ${digest} in the store at ${this.root} is corrupt or tampered: its content hashes to ${actual}`,
      );
    }
    return bytes;
  }

  async getJson<T>(digest: Digest): Promise<T> {
    const bytes = await this.getBlob(digest);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new OciError('MANIFEST_INVALID', `blob ${digest} is not valid JSON`);
    }
  }

  async getManifest(digest: Digest): Promise<ImageManifest> {
    const manifest = await this.getJson<ImageManifest>(digest);
    if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw new OciError('MANIFEST_INVALID', `blob ${digest} is not an OCI image manifest`);
    }
    return manifest;
  }

  async readIndex(): Promise<ImageIndex> {
    try {
      return JSON.parse(await readLayoutFile(join(this.root, 'index.json'))) as ImageIndex;
    } catch (error) {
      throw new OciError(
        'LAYOUT_INVALID',
        `${join(this.root, 'index.json')} is missing or not JSON (${(error as Error).message})`,
        { cause: error },
      );
    }
  }

  /**
   * Adds a manifest to index.json. With a ref name, the name moves to this manifest: an earlier
   * manifest that carried it stays in the index (it may be released or running) but loses the
   * name, or is dropped from the index with `dropPrevious`.
   */
  async addManifest(
    descriptor: Descriptor,
    options: { refName?: string; dropPrevious?: boolean } = {},
  ): Promise<void> {
    await withStoreLock(this.lockPath, async () => {
      const index = await this.readIndex();
      await this.writeIndex({ ...index, manifests: placeManifest(index.manifests, descriptor, options) });
    });
  }

  /**
   * Keeps an image in index.json without a name: reachable for inspection, `herd gate` and layout
   * tools, but no tag (no `hello:0.1.0`) points at it until `nameImage` is called after a passing
   * gate. An image that carried a name loses it, so a name only ever stands for a passing image.
   */
  async quarantine(
    descriptor: Descriptor,
    options: { intendedName: string; reason: QuarantineReason },
  ): Promise<void> {
    await withStoreLock(this.lockPath, async () => {
      const index = await this.readIndex();
      const others = index.manifests.filter((m) => m.digest !== descriptor.digest);
      const { annotations: _old, ...bare } = descriptor;
      const annotations = {
        ...withoutHerdNaming(descriptor.annotations),
        [quarantineReasonAnnotation]: options.reason,
        [intendedNameAnnotation]: options.intendedName,
      };
      await this.writeIndex({ ...index, manifests: [...others, { ...bare, annotations }] });
    });
  }

  /** The quarantine record of `digest`, or undefined when the image is named or unknown. */
  async quarantined(digest: Digest): Promise<QuarantinedImage | undefined> {
    const entry = (await this.readIndex()).manifests.find((m) => m.digest === digest);
    return entry ? quarantineOf(entry) : undefined;
  }

  /** Names a quarantined image with the name it was built for (its gate passed). */
  async nameImage(digest: Digest, refName: string): Promise<void> {
    await withStoreLock(this.lockPath, async () => {
      const index = await this.readIndex();
      const entry = index.manifests.find((m) => m.digest === digest);
      if (!entry) throw new OciError('REF_NOT_FOUND', `no image ${digest} in the store at ${this.root}`);
      const { annotations: _old, ...bare } = entry;
      const rest = withoutHerdNaming(entry.annotations);
      const named = Object.keys(rest).length > 0 ? { ...bare, annotations: rest } : bare;
      await this.writeIndex({ ...index, manifests: placeManifest(index.manifests, named, { refName }) });
    });
  }

  /** Resolves `sha256:…` (or a unique prefix of its hex) or a ref name to a manifest digest. */
  async resolve(reference: string): Promise<Digest> {
    const index = await this.readIndex();
    const byRef = index.manifests.find((m) => m.annotations?.[refNameAnnotation] === reference);
    if (byRef) return byRef.digest;
    const hex = reference.replace(/^sha256:/, '');
    if (/^[0-9a-f]{6,64}$/.test(hex)) {
      // Images only: a prefix that also starts an SBOM's digest still names the image.
      const matches = index.manifests.filter((m) => !isReferrerEntry(m) && hexOf(m.digest).startsWith(hex));
      if (matches.length === 1 && matches[0]) return matches[0].digest;
      if (matches.length > 1) throw new OciError('REF_NOT_FOUND', `digest prefix ${reference} is ambiguous`);
      if (hex.length === 64 && (await this.hasBlob(`sha256:${hex}`))) return `sha256:${hex}`;
    }
    throw new OciError('REF_NOT_FOUND', `no image named ${reference} in the store at ${this.root}`);
  }

  /**
   * Records an artifact manifest as a referrer of `subject`, as an entry of index.json without a
   * ref name (the image layout allows unnamed entries): layout tools that collect garbage from
   * index.json (`umoci gc`) or copy a whole layout (`skopeo copy`) then keep SBOMs, provenance and
   * signatures. The entry names its subject in an annotation so the cache can be rebuilt without
   * reading every blob; whoever uses a referrer still checks the manifest's own `subject`.
   */
  async addReferrer(subject: Digest, descriptor: Descriptor): Promise<void> {
    await withStoreLock(this.lockPath, async () => {
      const index = await this.migratedIndex();
      const others = index.manifests.filter((m) => m.digest !== descriptor.digest);
      const entry: Descriptor = {
        ...descriptor,
        annotations: { ...descriptor.annotations, [referrerSubjectAnnotation]: subject },
      };
      const next = { ...index, manifests: [...others, entry] };
      await this.writeIndex(next);
      await this.writeReferrersCache(next, compactJson(next));
    });
  }

  /** Held while index.json or referrers.json is read, changed and renamed over (store-lock.ts). */
  private get lockPath(): string {
    return join(this.root, '.write-lock');
  }

  /**
   * Artifact manifests that refer to `subject` (image-spec 1.1 referrers), optionally of one type,
   * in the order they were added. Answered from referrers.json, a cache of index.json that is
   * rebuilt when it is missing or was made from another index.json.
   */
  async referrers(subject: Digest, options: { artifactType?: string } = {}): Promise<Descriptor[]> {
    const text = await this.readIndexText();
    const cached = await this.readReferrersCache();
    const all =
      cached && cached.index === sha256Digest(Buffer.from(text))
        ? cached.referrers
        : await this.rebuiltReferrers();
    const list = all[subject] ?? [];
    return list.filter((d) => !options.artifactType || d.artifactType === options.artifactType);
  }

  private async rebuiltReferrers(): Promise<Record<string, Descriptor[]>> {
    try {
      return await withStoreLock(this.lockPath, async () => {
        const index = await this.migratedIndex();
        return (await this.writeReferrersCache(index, await this.readIndexText())).referrers;
      });
    } catch (error) {
      // A store herd may read but not write (another user's, read-only media): answer from
      // index.json, and an old store's referrers.json, without caching or migrating anything.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw error;
      const index = withLegacyReferrers(await this.readIndex(), await this.readReferrersFile());
      return this.referrersBySubject(index);
    }
  }

  private async readIndexText(): Promise<string> {
    try {
      return await readLayoutFile(join(this.root, 'index.json'));
    } catch (error) {
      throw new OciError('LAYOUT_INVALID', (error as Error).message, { cause: error });
    }
  }

  /**
   * index.json, with the referrers of a store written before they moved into it (a referrers.json
   * that maps subjects straight to lists) added as entries. Called with the write lock held.
   */
  private async migratedIndex(): Promise<ImageIndex> {
    const index = await this.readIndex();
    const next = withLegacyReferrers(index, await this.readReferrersFile());
    if (next.manifests.length > index.manifests.length) await this.writeIndex(next);
    return next;
  }

  /** Rebuilds referrers.json from `index`, parsed from `indexText`, what index.json now holds. */
  private async writeReferrersCache(index: ImageIndex, indexText: string): Promise<ReferrersCache> {
    // The digest of the file's bytes, not of herd's serialization: a tool that rewrote index.json
    // in its own format (umoci gc) makes the cache stale once, not forever.
    const cache = {
      index: sha256Digest(Buffer.from(indexText)),
      referrers: await this.referrersBySubject(index),
    };
    await writeAtomic(join(this.root, 'referrers.json'), compactJson(cache));
    return cache;
  }

  private async referrersBySubject(index: ImageIndex): Promise<Record<string, Descriptor[]>> {
    const referrers: Record<string, Descriptor[]> = {};
    for (const entry of index.manifests) {
      const subject = await this.subjectOf(entry);
      if (!subject) continue;
      const { [referrerSubjectAnnotation]: _subject, ...rest } = entry.annotations ?? {};
      const { annotations: _old, ...bare } = entry;
      const descriptor = Object.keys(rest).length > 0 ? { ...bare, annotations: rest } : bare;
      referrers[subject] = [...(referrers[subject] ?? []), descriptor];
    }
    return referrers;
  }

  /**
   * The subject an index entry refers to: herd's annotation, or for an artifact another tool put
   * in index.json, the manifest's own `subject`. Images have none.
   */
  private async subjectOf(entry: Descriptor): Promise<Digest | undefined> {
    const annotated = entry.annotations?.[referrerSubjectAnnotation];
    if (annotated) return annotated as Digest;
    if (!entry.artifactType || entry.mediaType !== MediaType.imageManifest) return undefined;
    const manifest = await this.getJson<ImageManifest>(entry.digest);
    return manifest.subject?.digest;
  }

  private async readReferrersCache(): Promise<ReferrersCache | undefined> {
    const data = await this.readReferrersFile();
    return isReferrersCache(data) ? data : undefined;
  }

  private async readReferrersFile(): Promise<unknown> {
    try {
      return JSON.parse(await readLayoutFile(join(this.root, 'referrers.json')));
    } catch {
      // Missing, or not JSON: only a cache, rebuilt from index.json, so neither is fatal.
      return undefined;
    }
  }

  private async writeIndex(index: ImageIndex): Promise<void> {
    await writeAtomic(join(this.root, 'index.json'), compactJson(index));
  }
}

/**
 * index.json's entries with `descriptor` added. With a ref name, the name moves to it: an earlier
 * entry that carried it stays (it may be released or running) but loses the name, or is dropped
 * with `dropPrevious`.
 */
function placeManifest(
  manifests: Descriptor[],
  descriptor: Descriptor,
  options: { refName?: string; dropPrevious?: boolean },
): Descriptor[] {
  const carriesRef = (m: Descriptor) =>
    !!options.refName && m.annotations?.[refNameAnnotation] === options.refName;
  const kept = manifests
    .filter((m) => m.digest !== descriptor.digest)
    // A replaced signature manifest is garbage, unlike a replaced image, which may still run.
    .filter((m) => !(options.dropPrevious && carriesRef(m)))
    .map((m) => (carriesRef(m) ? dropRef(m) : m));
  const annotations = {
    ...descriptor.annotations,
    ...(options.refName ? { [refNameAnnotation]: options.refName } : {}),
  };
  kept.push({ ...descriptor, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) });
  return kept;
}

/** Reads an index entry's quarantine annotations; undefined for an image that is not quarantined. */
export function quarantineOf(entry: Descriptor): QuarantinedImage | undefined {
  const reason = entry.annotations?.[quarantineReasonAnnotation];
  const intendedName = entry.annotations?.[intendedNameAnnotation];
  if ((reason !== 'not-gated' && reason !== 'gate-failed') || intendedName === undefined) return undefined;
  return { digest: entry.digest, reason, intendedName };
}

function withoutHerdNaming(annotations: Record<string, string> = {}): Record<string, string> {
  const {
    [refNameAnnotation]: _name,
    [quarantineReasonAnnotation]: _reason,
    [intendedNameAnnotation]: _intended,
    ...rest
  } = annotations;
  return rest;
}

function dropRef(descriptor: Descriptor): Descriptor {
  const { [refNameAnnotation]: _dropped, ...rest } = descriptor.annotations ?? {};
  const { annotations: _old, ...bare } = descriptor;
  return Object.keys(rest).length > 0 ? { ...bare, annotations: rest } : bare;
}

/** Far past any store's index.json; a larger file there was not written by herd. */
const maxLayoutFileBytes = 256 * 1024 ** 2;

/**
 * index.json or referrers.json, read only if it is a regular file: a FIFO there would hang every
 * command that reads the store, a link to /dev/zero fill its memory. The message names the path.
 */
async function readLayoutFile(path: string): Promise<string> {
  const read = await readRegularFile(path, { maxBytes: maxLayoutFileBytes });
  switch (read.kind) {
    case 'file':
      return read.bytes.toString('utf8');
    case 'missing':
      throw new Error(`${path} is missing`);
    case 'not-regular':
      throw new Error(`${path} is ${read.what}, not a regular file`);
    case 'too-large':
      throw new Error(`${path} is ${read.size} bytes, more than the ${maxLayoutFileBytes}-byte limit`);
  }
}

/** Whether a blob is stored at `path`: a regular file, as herd writes them, not a link to one. */
async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}
