/**
 * Reuses a compressed layer when the same uncompressed layer (same diff_id) was compressed before,
 * as containers/image's blob-info cache and BuildKit do. gzip is the slowest step of a warm build;
 * the mapping lives at HERD_HOME/cache/layers/<diff_id hex> and is never trusted blindly: the blob
 * must still be in the store, hash to its digest, and decompress to the diff_id.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { hexOf } from '../oci/digest.js';
import { type LayoutStore, writeAtomic } from '../oci/layout-store.js';
import { type Descriptor, type Digest, MediaType } from '../oci/types.js';

const gunzipAsync = promisify(gunzip);

export class LayerCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The stored layer for this diff_id, checked end to end, or undefined. */
  async lookup(diffId: Digest, store: LayoutStore): Promise<Descriptor | undefined> {
    let digest: Digest;
    try {
      digest = (await readFile(join(this.dir, hexOf(diffId)), 'utf8')).trim() as Digest;
      const blob = await store.getBlob(digest);
      const tar = await gunzipAsync(blob);
      if (`sha256:${createHash('sha256').update(tar).digest('hex')}` !== diffId) return undefined;
      return { mediaType: MediaType.layerGzip, digest, size: blob.length };
    } catch {
      return undefined;
    }
  }

  async remember(diffId: Digest, layer: Descriptor): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(join(this.dir, hexOf(diffId)), `${layer.digest}\n`);
  }
}
