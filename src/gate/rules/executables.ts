/**
 * Programs on the default PATH by name, wherever merged /usr puts them: files and symlinks in
 * the bin folders. Finding `/usr/bin/sh` is enough, since `/bin` is a link to it.
 */
import type { RootfsNode } from '../../oci/index.js';
import type { ImageView } from '../image-view.js';

const binFolders = new Set(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);

export function executablesNamed(view: ImageView, names: ReadonlySet<string>): RootfsNode[] {
  const found: RootfsNode[] = [];
  for (const node of view.files.values()) {
    if (node.type === 'dir') continue;
    const slash = node.path.lastIndexOf('/');
    if (binFolders.has(node.path.slice(0, slash)) && names.has(node.path.slice(slash + 1))) found.push(node);
  }
  return found;
}
