/**
 * Applies an image's layers in order, as a runtime would, to get the root filesystem the gate
 * judges. Pure: tar entries in, a map of paths out. Layers are hostile input: unsafe paths and
 * device nodes are refused, never skipped.
 * Whiteouts: https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md#whiteouts
 */
import { normalizeArchivePath, type TarReadEntry } from '../oci/tar.js';
import { GateError } from './errors.js';

/** One path of the flattened root filesystem. */
export interface RootfsNode {
  /** Absolute: `/usr/bin/node`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of a regular file; 0 otherwise. */
  size: number;
  /** A symlink's target, as in the layer. */
  target?: string;
  /** A regular file's bytes (a view into the layer, not a copy). */
  data?: Buffer;
}

export type Rootfs = Map<string, RootfsNode>;

const whiteoutPrefix = '.wh.';
const opaqueWhiteout = '.wh..wh..opq';

/** `layers[0]` is the bottom layer. `names[i]` names layer i in errors (its digest). */
export function flattenLayers(layers: readonly TarReadEntry[][], options: { names?: string[] } = {}): Rootfs {
  const rootfs: Rootfs = new Map();
  for (const [index, entries] of layers.entries()) {
    const layerName = options.names?.[index] ?? `layer ${index}`;
    applyLayer(rootfs, entries, layerName);
  }
  return sortedRootfs(rootfs);
}

function applyLayer(rootfs: Rootfs, entries: readonly TarReadEntry[], layerName: string): void {
  const located = entries.flatMap((entry) => {
    const path = absolutePathOf(entry, layerName);
    return path === undefined ? [] : [{ entry, path }];
  });
  // Whiteouts hide what the layers below hold, whatever their position in this layer's tar.
  for (const { path } of located) {
    const name = basename(path);
    if (!name.startsWith(whiteoutPrefix)) continue;
    const dir = parentOf(path);
    if (name === opaqueWhiteout) removeChildren(rootfs, dir);
    else removeTree(rootfs, join(dir, name.slice(whiteoutPrefix.length)));
  }
  const added = new Map<string, RootfsNode>();
  for (const { entry, path } of located) {
    if (basename(path).startsWith(whiteoutPrefix)) continue;
    const node = nodeOf(entry, path, { layerName, lookup: (p) => added.get(p) ?? rootfs.get(p) });
    // A non-directory replaces a whole tree below it; a directory over a directory keeps the children.
    if (node.type !== 'dir') removeTree(rootfs, path);
    rootfs.set(path, node);
    added.set(path, node);
  }
}

function nodeOf(
  entry: TarReadEntry,
  path: string,
  context: { layerName: string; lookup: (path: string) => RootfsNode | undefined },
): RootfsNode {
  const base = { path, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid };
  switch (entry.type) {
    case 'file': {
      const data = entry.data ?? Buffer.alloc(0);
      return { ...base, type: 'file', size: data.length, data };
    }
    case 'dir':
      return { ...base, type: 'dir', size: 0 };
    case 'symlink':
      return { ...base, type: 'symlink', size: 0, target: entry.linkname ?? '' };
    case 'hardlink': {
      // A hard link shares its target's bytes; the gate sees it as one more regular file.
      const target = normalizeArchivePath(entry.linkname ?? '');
      const linked = target.kind === 'ok' ? context.lookup(`/${target.path}`) : undefined;
      if (linked?.type !== 'file') {
        throw new GateError(
          'LAYER_INVALID',
          `${context.layerName}: hard link ${path} points at ${JSON.stringify(entry.linkname ?? '')}, expected a regular file in the image`,
        );
      }
      return { ...base, type: 'file', size: linked.size, ...(linked.data ? { data: linked.data } : {}) };
    }
    case 'char':
    case 'block':
    case 'fifo':
    case 'unknown':
      throw new GateError(
        'LAYER_INVALID',
        `${context.layerName}: ${path} is a ${entry.type} entry (typeflag ${JSON.stringify(entry.typeflag)}), expected a file, directory or link`,
      );
  }
}

function absolutePathOf(entry: TarReadEntry, layerName: string): string | undefined {
  const normalized = normalizeArchivePath(entry.path);
  if (normalized.kind === 'ok') return `/${normalized.path}`;
  // `./`, the root itself, is in many layers and says nothing the gate needs.
  if (normalized.reason === 'empty') return undefined;
  throw new GateError(
    'LAYER_INVALID',
    `${layerName}: entry ${JSON.stringify(entry.path)} at offset ${entry.offset} has an unsafe path (${normalized.reason}), expected a path inside the image`,
  );
}

function removeTree(rootfs: Rootfs, path: string): void {
  rootfs.delete(path);
  removeChildren(rootfs, path);
}

function removeChildren(rootfs: Rootfs, dir: string): void {
  const prefix = dir === '/' ? '/' : `${dir}/`;
  for (const path of [...rootfs.keys()]) if (path.startsWith(prefix) && path !== dir) rootfs.delete(path);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Component by component, in code-unit order, as the file manifest sorts: `/a/b` before `/a-b`.
 * Mapping `/` to NUL, which sorts below every other character, gives that order with one compare.
 */
export function sortedRootfs(rootfs: Rootfs): Rootfs {
  const keyed = [...rootfs.values()].map((node) => ({ node, key: node.path.replaceAll('/', '\0') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new Map(keyed.map(({ node }) => [node.path, node]));
}
