/**
 * An image's layers applied in order by herd's own reader (src/oci/flatten-layers.ts: OCI
 * whiteouts, hard links as copies, hostile entries refused), as file manifest entries to compare
 * with the manifest the build attached.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FileManifestEntry } from '../../src/builder/file-manifest.js';
import { flattenLayers as flattenLayerEntries } from '../../src/oci/flatten-layers.js';
import type { LayoutStore } from '../../src/oci/layout-store.js';
import { readTar } from '../../src/oci/tar.js';
import { type Digest, MediaType } from '../../src/oci/types.js';

export async function flattenLayers(
  store: LayoutStore,
  digest: Digest,
): Promise<Map<string, FileManifestEntry>> {
  const manifest = await store.getManifest(digest);
  const layers = [];
  for (const layer of manifest.layers) {
    const blob = await store.getBlob(layer.digest);
    const tar = layer.mediaType === MediaType.layerTar ? blob : gunzipSync(blob);
    layers.push({ digest: layer.digest, entries: readTar(tar, {}) });
  }
  const tree = new Map<string, FileManifestEntry>();
  for (const { data, ...node } of flattenLayerEntries(layers).values()) {
    tree.set(
      node.path,
      node.type === 'file'
        ? {
            ...node,
            sha256: createHash('sha256')
              .update(data ?? Buffer.alloc(0))
              .digest('hex'),
          }
        : node,
    );
  }
  return tree;
}
