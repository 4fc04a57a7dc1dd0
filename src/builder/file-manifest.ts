/**
 * The file manifest: every path in the image with its type, mode, owner, size, sha256 and link
 * target. It is the baseline that integrity monitoring compares running instances against, so it
 * is computed from the same tree the layers are cut from.
 */
import { type FileManifest, type FileManifestEntry, fileManifestMediaType } from '../oci/index.js';
import { fileSha256, fileSize } from './file-content.js';
import type { ImageTree } from './image-tree.js';

export {
  type FileManifest,
  type FileManifestEntry,
  fileManifestMediaType,
} from '../oci/index.js';

export function fileManifestOf(tree: ImageTree): FileManifest {
  const entries = tree.sorted().map((node): FileManifestEntry => {
    const base = { path: `/${node.path}`, type: node.type, mode: node.mode, uid: node.uid, gid: node.gid };
    switch (node.type) {
      case 'file':
        return { ...base, size: fileSize(node), sha256: fileSha256(node) };
      case 'symlink':
        return { ...base, size: 0, target: node.target ?? '' };
      case 'dir':
        return { ...base, size: 0 };
      default:
        return assertNever(node.type);
    }
  });
  return { schemaVersion: 1, mediaType: fileManifestMediaType, entries };
}

function assertNever(value: never): never {
  throw new Error(`unhandled node type ${String(value)}`);
}
