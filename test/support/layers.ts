/** Applies an image's layers in order, as an engine would, to compare with the file manifest. */

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FileManifestEntry } from '../../src/build/file-manifest.js';
import type { LayoutStore } from '../../src/oci/layout-store.js';
import { readTar } from '../../src/oci/tar.js';
import type { Digest } from '../../src/oci/types.js';

export async function flattenLayers(
  store: LayoutStore,
  digest: Digest,
): Promise<Map<string, FileManifestEntry>> {
  const manifest = await store.getManifest(digest);
  const tree = new Map<string, FileManifestEntry>();
  for (const layer of manifest.layers) {
    const tar = gunzipSync(await store.getBlob(layer.digest));
    for (const entry of readTar(tar, {})) {
      const path = `/${entry.path.replace(/^\.?\//, '').replace(/\/$/, '')}`;
      if (entry.type === 'dir') {
        tree.set(path, { path, type: 'dir', mode: entry.mode, uid: entry.uid, gid: entry.gid, size: 0 });
      } else if (entry.type === 'symlink') {
        tree.set(path, {
          path,
          type: 'symlink',
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          size: 0,
          target: entry.linkname ?? '',
        });
      } else if (entry.type === 'file') {
        const data = entry.data ?? Buffer.alloc(0);
        tree.set(path, {
          path,
          type: 'file',
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          size: data.length,
          sha256: createHash('sha256').update(data).digest('hex'),
        });
      } else {
        throw new Error(`layer ${layer.digest} holds a ${entry.type} at ${path}`);
      }
    }
  }
  return tree;
}
