/**
 * A base image's root filesystem as the build's tree: the layers flattened by src/oci (the same
 * reader and rules as the gate's), every entry owned by `base`. Pure: tar entries in, tree nodes out.
 */
import { OciError } from '../oci/errors.js';
import { flattenLayers, type LayerEntries } from '../oci/flatten-layers.js';
import { BuildError } from './errors.js';
import { ownerBase, type TreeNode } from './image-tree.js';

/** The root filesystem after every layer, by path (relative, no leading slash), owned by `base`. */
export function flattenBaseLayers(layers: readonly LayerEntries[]): Map<string, TreeNode> {
  let rootfs: ReturnType<typeof flattenLayers>;
  try {
    rootfs = flattenLayers(layers);
  } catch (error) {
    if (!(error instanceof OciError) || error.code !== 'LAYER_UNSAFE') throw error;
    throw new BuildError('BASE_UNSAFE', `base ${error.message}`, { cause: error });
  }
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
