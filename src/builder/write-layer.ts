/**
 * Writes one planned layer into the store as a stream: the tar is made entry by entry (a file's
 * bytes read from where the tree keeps them and checked against their sha256), hashed for its
 * diff_id, gzipped by igzip and hashed again on its way into the blob file. No layer is ever whole
 * in memory, and layers written at once are compressed at once, an igzip process each.
 */
import { createHash } from 'node:crypto';
import type { LayoutStore } from '../oci/index.js';
import {
  type Descriptor,
  type Digest,
  igzipChunks,
  layerEncodingOf,
  MediaType,
  type StreamedTarEntry,
  sortTarEntries,
  tarChunks,
} from '../oci/index.js';
import { fileChunks, fileSha256, fileSize } from './file-content.js';
import type { TreeNode } from './image-tree.js';
import type { LayerCache } from './layer-cache.js';
import type { LayerPlan } from './plan-layers.js';

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** What the tar's bytes follow from (entriesDigest), to know a plan gives the same tar unread. */
  entries: string;
}

export interface WriteLayerOptions {
  store: LayoutStore;
  /**
   * Asked by diff_id before anything is compressed; then the tar is made twice, once to hash it
   * and once to compress it. Without a cache (or when it holds nothing yet), it is made once.
   */
  layerCache?: LayerCache;
  /**
   * The layer cache held nothing when the build began, so no lookup can hit (what it holds now
   * are this build's own layers): each tar is made once. Without it the cache is asked whether it
   * is empty, which after a build's first layer it never is, and a cold build would make and hash
   * every later layer's tar twice (for hello, about 85 MB read, checked and hashed again, in front
   * of the two longest gzips).
   */
  layerCacheWasEmpty?: boolean;
  /** Every entry's mtime. */
  mtime: number;
  /** igzip's level, 0 to 3. */
  level: number;
  /**
   * A layer written before this plan was known (early-layers.ts): taken when this plan's entries
   * are exactly the ones it was written from, so that its tar is this plan's.
   */
  early?: WrittenLayer;
}

export async function writeLayer(plan: LayerPlan, options: WriteLayerOptions): Promise<WrittenLayer> {
  const entries = sortTarEntries(plan.nodes.map((node) => tarEntryOf(node, options.mtime)));
  const { layerCache, store, early } = options;
  const entriesKey = entriesDigest(plan.nodes, options.mtime);
  if (early?.entries === entriesKey) return early;
  const encoding = await layerEncodingOf(options.level);
  if (layerCache && !(options.layerCacheWasEmpty ?? (await layerCache.isEmpty()))) {
    const { digest: diffId, size: tarSize } = await hashChunks(tarChunks(entries));
    const reused = await layerCache.lookup({ diffId, size: tarSize, encoding }, store);
    if (reused) return { descriptor: reused, diffId, tarSize, entries: entriesKey };
  }
  const tar = createHash('sha256');
  let tarSize = 0;
  const hashed = async function* () {
    for await (const chunk of tarChunks(entries)) {
      tar.update(chunk);
      tarSize += chunk.length;
      yield chunk;
    }
  };
  const descriptor = await store.putBlobChunks(
    igzipChunks(hashed(), { level: options.level, name: `layer "${plan.comment}"` }),
    MediaType.layerGzip,
  );
  const diffId: Digest = `sha256:${tar.digest('hex')}`;
  await layerCache?.remember({ diffId, encoding }, descriptor);
  return { descriptor, diffId, tarSize, entries: entriesKey };
}

/**
 * The sha256 of everything a layer's tar is made of: each entry's header fields and its content's
 * sha256, in a fixed order. Equal digests give the same tar, byte for byte: the order of the
 * entries follows from the set (sortTarEntries), and stored content is checked against its sha256
 * whenever it is read, so a layer written from the same entries never needs to be read again.
 */
export function entriesDigest(nodes: readonly TreeNode[], mtime: number): string {
  const lines = nodes.map((node) =>
    JSON.stringify([
      node.path,
      node.type,
      node.mode,
      node.uid,
      node.gid,
      node.type === 'file' ? fileSize(node) : 0,
      node.type === 'file' ? fileSha256(node) : '',
      node.type === 'symlink' ? (node.target ?? '') : '',
    ]),
  );
  const hash = createHash('sha256').update(`mtime ${mtime}\n`);
  for (const line of lines.sort()) hash.update(`${line}\n`);
  return hash.digest('hex');
}

/** A tree node as a tar entry whose bytes are read only when it is written. */
export function tarEntryOf(node: TreeNode, mtime: number): StreamedTarEntry {
  const base = { path: node.path, mode: node.mode, uid: node.uid, gid: node.gid, mtime };
  switch (node.type) {
    case 'file': {
      const size = fileSize(node);
      return { ...base, type: 'file', size, ...(size > 0 ? { content: () => fileChunks(node) } : {}) };
    }
    case 'symlink':
      return { ...base, type: 'symlink', size: 0, linkname: node.target ?? '' };
    case 'dir':
      return { ...base, type: 'dir', size: 0 };
  }
}

async function hashChunks(chunks: AsyncIterable<Uint8Array>): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
