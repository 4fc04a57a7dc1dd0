/**
 * A base image's root filesystem: the layers flattened by src/oci (the same reader and rules as the
 * gate's), then as the build's tree, every entry owned by `base`. Pure: tar entries in, nodes out.
 */
import { flattenLayers, type LayerEntries, OciError, type Rootfs } from '../oci/index.js';
import { BuildError } from './errors.js';
import { ownerBase, type TreeNode } from './image-tree.js';

/** The root filesystem after every layer; a hostile entry is BASE_UNSAFE, naming the layer and entry. */
export function flattenBaseLayers(layers: readonly LayerEntries[]): Rootfs {
  try {
    return flattenLayers(layers);
  } catch (error) {
    if (!(error instanceof OciError) || error.code !== 'LAYER_UNSAFE') throw error;
    throw new BuildError('BASE_UNSAFE', `base ${error.message}`, { cause: error });
  }
}

/** The same files by path as the tree has them (relative, no leading slash), owned by `base`. */
export function baseTreeOf(rootfs: Rootfs): Map<string, TreeNode> {
  const files = new Map<string, TreeNode>();
  for (const { path: absolute, type, mode, uid, gid, data, target } of rootfs.values()) {
    const path = absolute.slice(1);
    const base = { path, mode, uid, gid, owner: ownerBase };
    switch (type) {
      case 'dir':
        files.set(path, { ...base, type });
        break;
      case 'file':
        files.set(path, { ...base, type, data: data ?? Buffer.alloc(0) });
        break;
      case 'symlink':
        files.set(path, { ...base, type, target: target ?? '' });
        break;
    }
  }
  return files;
}
