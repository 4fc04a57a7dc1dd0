/**
 * The image's root filesystem as one in-memory tree, before it is cut into layers. Paths are
 * relative to the root, without a leading slash (`usr/bin/node`). Every entry remembers its owner:
 * the package that shipped it, `herd` for what herd writes itself, `app` for the spec's files, or
 * `base` for what the base image's layers hold.
 */
import { BuildError } from './errors.js';
import { fileSha256, fileSize, type StoredBytes } from './file-content.js';

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  path: string;
  type: NodeType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Regular files only: the bytes, held. */
  data?: Buffer;
  /** Regular files only: where the bytes are on disk, when they are not held (file-content.ts). */
  stored?: StoredBytes;
  /** Symlinks only. */
  target?: string;
  owner: string;
}

export const ownerHerd = 'herd';
export const ownerApp = 'app';
/** Entries of the base image: its layers carry them already, so herd's layers never do. */
export const ownerBase = 'base';

export class ImageTree {
  readonly nodes = new Map<string, TreeNode>();

  get(path: string): TreeNode | undefined {
    return this.nodes.get(path);
  }

  /**
   * Adds an entry. A directory that exists already is kept as it is (packages share folders).
   * Anything else at a taken path is a conflict unless it is the same content, as dpkg would refuse
   * to overwrite another package's file.
   */
  add(node: TreeNode, options: { replace?: boolean } = {}): void {
    this.ensureParents(node.path);
    const existing = this.nodes.get(node.path);
    if (existing && !options.replace) {
      if (existing.type === 'dir' && node.type === 'dir') return;
      if (sameContent(existing, node)) return;
      throw new BuildError(
        'PATH_CONFLICT',
        `/${node.path} is shipped by both ${existing.owner} (${existing.type}) and ${node.owner} (${node.type})`,
      );
    }
    this.nodes.set(node.path, node);
  }

  remove(path: string): void {
    this.nodes.delete(path);
  }

  /** Entries sorted by path, parents before children (byte order, like tar and the manifest). */
  sorted(): TreeNode[] {
    return [...this.nodes.values()].sort((a, b) => comparePaths(a.path, b.path));
  }

  private ensureParents(path: string): void {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = this.nodes.get(parent);
      if (existing) {
        if (existing.type !== 'dir') {
          throw new BuildError(
            'PATH_CONFLICT',
            `/${path} needs /${parent} to be a folder, but ${existing.owner} made it a ${existing.type}`,
          );
        }
        continue;
      }
      this.nodes.set(parent, { path: parent, type: 'dir', mode: 0o755, uid: 0, gid: 0, owner: ownerHerd });
    }
  }
}

/** Orders paths so that a folder comes right before its contents: compare component by component. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x !== y) return Buffer.compare(Buffer.from(x), Buffer.from(y));
  }
  return pa.length - pb.length;
}

/** Same type, permissions, ids and bytes or target: writing one over the other changes nothing. */
export function sameContent(a: TreeNode, b: TreeNode): boolean {
  if (a.type !== b.type || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === 'symlink') return a.target === b.target;
  if (a.type === 'file') return fileSize(a) === fileSize(b) && fileSha256(a) === fileSha256(b);
  return true;
}
