/**
 * Reuses a compressed layer when the same uncompressed layer (same diff_id) was compressed before
 * the same way, as containers/image's blob-info cache and BuildKit do. gzip is the slowest step of
 * a warm build; the mapping lives at HERD_HOME/cache/layers/<diff_id hex>.<encoding> (the encoder,
 * its version and the level, src/oci's layerEncodingOf: a blob compressed by another igzip, an older
 * herd or at another level is never taken, so a warm build gives a cold build's digest). It is
 * never trusted blindly: the blob must still be in the store, hash to its digest, and decompress to
 * the diff_id. The diff_id is the one this build just computed from its own tar, so the check chains
 * to the build's inputs, not to anything stored in the cache; the decompression stops at that tar's
 * size.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile, writeAtomic } from '../common/index.js';
import type { LayoutStore } from '../oci/index.js';
import { type Descriptor, type Digest, decompressChunks, hexOf, isDigest, MediaType } from '../oci/index.js';

export class LayerCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** True when nothing was ever remembered here: no lookup can hit, so a build need not ask. */
  async isEmpty(): Promise<boolean> {
    let dir: Awaited<ReturnType<typeof opendir>>;
    try {
      dir = await opendir(this.dir);
    } catch {
      return true;
    }
    try {
      return (await dir.read()) === null;
    } finally {
      await dir.close();
    }
  }

  /**
   * The stored layer for this diff_id (a tar of `size` bytes) compressed as `encoding` says,
   * checked end to end, or undefined.
   */
  async lookup(
    layer: { diffId: Digest; size: number; encoding: string },
    store: LayoutStore,
  ): Promise<Descriptor | undefined> {
    let digest: Digest;
    try {
      // Only a regular file is read, as the store's blob is opened (a FIFO planted here would never
      // answer): anything else is no entry, and `remember` renames a real one over it.
      const entry = await readRegularFile(this.entryPath(layer), { maxBytes: 1024 });
      if (entry.kind !== 'file') return undefined;
      digest = entry.bytes.toString('utf8').trim() as Digest;
      if (!isDigest(digest)) return undefined;
      const { handle } = await store.openBlob(digest);
      try {
        return await matchingBlob(handle, { digest, diffId: layer.diffId, size: layer.size });
      } finally {
        await handle.close();
      }
    } catch {
      return undefined;
    }
  }

  async remember(layer: { diffId: Digest; encoding: string }, descriptor: Descriptor): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(this.entryPath(layer), `${descriptor.digest}\n`);
  }

  private entryPath(layer: { diffId: Digest; encoding: string }): string {
    return join(this.dir, `${hexOf(layer.diffId)}.${layer.encoding}`);
  }
}

/**
 * The blob open at `handle`, if it hashes to `digest` and decompresses to `diffId`. The blob and
 * what it decompresses to are both hashed as they stream, never held: past the tar's own size it
 * cannot be this layer.
 */
async function matchingBlob(
  handle: FileHandle,
  expected: { digest: Digest; diffId: Digest; size: number },
): Promise<Descriptor | undefined> {
  const { digest } = expected;
  const blobHash = createHash('sha256');
  let size = 0;
  const blob = (async function* () {
    for await (const chunk of handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: false })) {
      blobHash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  })();
  const hash = createHash('sha256');
  const chunks = decompressChunks(blob, { compression: 'gzip', name: digest, maxBytes: expected.size });
  for await (const chunk of chunks) hash.update(chunk);
  if (`sha256:${hash.digest('hex')}` !== expected.diffId) return undefined;
  // Anything after the gzip stream still counts: the blob is the digest's bytes, all of them.
  for await (const _rest of blob);
  if (`sha256:${blobHash.digest('hex')}` !== digest) return undefined;
  return { mediaType: MediaType.layerGzip, digest, size };
}
