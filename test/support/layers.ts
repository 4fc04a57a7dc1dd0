/**
 * Applies an image's layers in order, as an engine would, to compare with the file manifest. OCI
 * whiteouts (`.wh.<name>`, `.wh..wh..opq`) hide what lower layers hold, and hard links become
 * copies of their target, as herd's file manifest records them.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FileManifestEntry } from '../../src/builder/file-manifest.js';
import type { LayoutStore } from '../../src/oci/layout-store.js';
import { readTar, type TarReadEntry } from '../../src/oci/tar.js';
import { type Digest, MediaType } from '../../src/oci/types.js';

export async function flattenLayers(
  store: LayoutStore,
  digest: Digest,
): Promise<Map<string, FileManifestEntry>> {
  const manifest = await store.getManifest(digest);
  const tree = new Map<string, FileManifestEntry>();
  for (const layer of manifest.layers) {
    const blob = await store.getBlob(layer.digest);
    const tar = layer.mediaType === MediaType.layerTar ? blob : gunzipSync(blob);
    const entries = readTar(tar, {});
    const pathOf = (entry: TarReadEntry) => `/${entry.path.replace(/^\.?\//, '').replace(/\/$/, '')}`;
    const isWhiteout = (entry: TarReadEntry) => pathOf(entry).split('/').at(-1)?.startsWith('.wh.');
    // Whiteouts apply to lower layers only, so before this layer's own entries.
    for (const entry of entries.filter(isWhiteout)) {
      const path = pathOf(entry);
      const dir = path.slice(0, path.lastIndexOf('/'));
      const name = path.slice(path.lastIndexOf('/') + 1);
      if (name === '.wh..wh..opq') removeBelow(tree, dir);
      else {
        const hidden = `${dir}/${name.slice('.wh.'.length)}`;
        tree.delete(hidden);
        removeBelow(tree, hidden);
      }
    }
    for (const entry of entries) {
      if (isWhiteout(entry)) continue;
      const path = pathOf(entry);
      if (path === '/') continue;
      const existing = tree.get(path);
      if (existing?.type === 'dir' && entry.type !== 'dir') removeBelow(tree, path);
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
      } else if (entry.type === 'hardlink') {
        const target = tree.get(`/${(entry.linkname ?? '').replace(/^\.?\//, '')}`);
        if (target?.type !== 'file') throw new Error(`layer ${layer.digest}: ${path} links to no file`);
        tree.set(path, { ...target, path });
      } else {
        throw new Error(`layer ${layer.digest} holds a ${entry.type} at ${path}`);
      }
    }
  }
  return tree;
}

function removeBelow(tree: Map<string, FileManifestEntry>, dir: string): void {
  const prefix = dir === '' || dir === '/' ? '/' : `${dir}/`;
  for (const path of [...tree.keys()]) if (path.startsWith(prefix) && path !== dir) tree.delete(path);
}
