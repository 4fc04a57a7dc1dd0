/**
 * Cuts the image tree into a bounded number of layers so that an app change, or a change to one
 * large package, reuses every other layer. Order: herd's system files, the small packages together,
 * each large package alone, the app last. Pure. A base image's entries are in no plan: its own
 * layers go first, unchanged, and these come after them.
 */
import { fileSize } from './file-content.js';
import { comparePaths, type ImageTree, ownerApp, ownerBase, ownerHerd, type TreeNode } from './image-tree.js';

export interface LayerPlan {
  /** What the layer holds, for the image history. */
  comment: string;
  owners: string[];
  /** Entries in path order; ancestor folders of every entry are included. */
  nodes: TreeNode[];
}

export interface LayerPlanOptions {
  /** At most this many package layers (at least 1). */
  maxPackageLayers: number;
  /** A package gets a layer of its own only from this many bytes of content. */
  ownLayerBytes: number;
}

export const defaultLayerPlanOptions: LayerPlanOptions = {
  maxPackageLayers: 6,
  ownLayerBytes: 4 * 1024 * 1024,
};

export function planLayers(
  tree: ImageTree,
  options: LayerPlanOptions = defaultLayerPlanOptions,
): LayerPlan[] {
  const byOwner = new Map<string, TreeNode[]>();
  for (const node of tree.sorted()) {
    const list = byOwner.get(node.owner) ?? [];
    list.push(node);
    byOwner.set(node.owner, list);
  }
  const packageOwners = [...byOwner.keys()].filter(
    (o) => o !== ownerHerd && o !== ownerApp && o !== ownerBase,
  );
  const sizeOf = (owner: string) =>
    (byOwner.get(owner) ?? []).reduce((n, node) => n + (node.type === 'file' ? fileSize(node) : 0), 0);
  const bySize = packageOwners
    .map((owner) => ({ owner, size: sizeOf(owner) }))
    .sort((a, b) => b.size - a.size || (a.owner < b.owner ? -1 : 1));
  const alone = bySize
    .slice(0, Math.max(0, options.maxPackageLayers - 1))
    .filter((p) => p.size >= options.ownLayerBytes)
    .map((p) => p.owner)
    .sort();
  const shared = packageOwners.filter((o) => !alone.includes(o)).sort();

  const groups: { comment: string; owners: string[] }[] = [
    // On a base, herd may have nothing of its own to add.
    ...(byOwner.has(ownerHerd)
      ? [{ comment: 'herd: accounts, merged /usr links, folders', owners: [ownerHerd] }]
      : []),
    ...(shared.length > 0 ? [{ comment: `packages: ${shared.join(' ')}`, owners: shared }] : []),
    ...alone.map((owner) => ({ comment: `package: ${owner}`, owners: [owner] })),
    ...(byOwner.has(ownerApp) ? [{ comment: 'app files', owners: [ownerApp] }] : []),
  ];
  return groups.map((group) => ({
    ...group,
    nodes: withAncestors(
      tree,
      group.owners.flatMap((o) => byOwner.get(o) ?? []),
    ),
  }));
}

/** Adds every ancestor folder (as the tree has it) so each layer unpacks on its own. */
function withAncestors(tree: ImageTree, nodes: TreeNode[]): TreeNode[] {
  const paths = new Set(nodes.map((n) => n.path));
  const result = [...nodes];
  for (const node of nodes) {
    let slash = node.path.lastIndexOf('/');
    while (slash > 0) {
      const parent = node.path.slice(0, slash);
      if (paths.has(parent)) break;
      paths.add(parent);
      const dir = tree.get(parent);
      if (dir) result.push(dir);
      slash = parent.lastIndexOf('/');
    }
  }
  return result.sort((a, b) => comparePaths(a.path, b.path));
}
