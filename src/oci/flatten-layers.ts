/**
 * The one reader of an image's root filesystem: its layers applied in order, as a runtime unpacks
 * them. The build reads a base image through it and the gate judges an image through it, so both
 * see the same files by the same rules. Layers are hostile input (a base may be any OCI image, a
 * gated image anyone's): whatever a runtime would write outside the root, write through a link, or
 * write as a device is refused with LAYER_UNSAFE, naming the layer's digest and the entry, never
 * skipped. Pure: tar entries in, a map of paths out.
 * Whiteouts and the changeset rules: https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */
import { OciError } from './errors.js';
import type { FileManifestEntry } from './file-manifest-format.js';
import { normalizeArchivePath, rejectionReason, symlinkEscapes, type TarReadEntry } from './tar.js';

/**
 * One path of the flattened root filesystem: what herd's file manifest records of it, with a
 * regular file's bytes (a view into the layer, not a copy) in place of their hash, or, for a layer
 * read through the flattened-layer cache, where the bytes are (read them with the cache's reader).
 */
export interface RootfsNode extends Omit<FileManifestEntry, 'sha256'> {
  data?: Buffer;
  content?: FileContentRef;
}

/** Where a regular file's bytes are in the flattened-layer cache, and what they must hash to. */
export interface FileContentRef {
  /** The layer's diff_id: the cache entry that holds the bytes. */
  layer: string;
  /** Byte offset in the entry's content file. */
  offset: number;
  /** sha256 (hex) of the file's bytes, from the sealed index: checked on every read. */
  sha256: string;
  /** A NUL byte in the first 8 KiB, as git and grep decide a file is binary. */
  binary: boolean;
}

/** What the reader needs of one tar entry: readTar's entries fit, and so do the cache's. */
export type LayerEntry = Pick<
  TarReadEntry,
  'path' | 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'linkname' | 'data'
> & {
  /** The raw typeflag, when the reader kept it (readTar does): named in the refusal of a special entry. */
  typeflag?: string;
  content?: FileContentRef;
};

/** Absolute path → node, in file manifest order (see sortedRootfs). */
export type Rootfs = Map<string, RootfsNode>;

/** One layer's entries, as readTar (or the flattened-layer cache) returns them. */
export interface LayerEntries {
  /** Names the layer in errors: its digest. */
  digest: string;
  entries: readonly LayerEntry[];
}

const whiteoutPrefix = '.wh.';
const opaqueWhiteout = '.wh..wh..opq';

/** `layers[0]` is the bottom layer. */
export function flattenLayers(layers: readonly LayerEntries[]): Rootfs {
  const rootfs: Rootfs = new Map();
  const parents = new Set<string>();
  for (const layer of layers) {
    const { whiteouts, changes } = splitWhiteouts(layer);
    // A whiteout hides only what lower layers hold, never an entry of its own layer, wherever it
    // sits in the layer's tar (layer.md).
    for (const whiteout of whiteouts) applyWhiteout(rootfs, whiteout, layer);
    for (const change of changes) applyChange(rootfs, change, { layer, parents });
    // A runtime applies a layer in tar order, so a whiteout after this layer's own `lib -> /etc`
    // deletes through the link (`lib/.wh.passwd` removes /etc/passwd) while herd, hiding only
    // lower files, would not: a whiteout under a path this layer makes a link or file is refused.
    for (const whiteout of whiteouts) checkAncestors(rootfs, whiteout, layer);
  }
  return sortedRootfs(rootfs);
}

interface LocatedEntry {
  entry: LayerEntry;
  /** Absolute and normalized: `/etc/motd`. */
  path: string;
}

function splitWhiteouts(layer: LayerEntries): { whiteouts: LocatedEntry[]; changes: LocatedEntry[] } {
  const whiteouts: LocatedEntry[] = [];
  const changes: LocatedEntry[] = [];
  for (const entry of layer.entries) {
    const normalized = normalizeArchivePath(entry.path);
    if (normalized.kind === 'rejected') {
      // `./`, the root itself, is in many layers; the file manifest has no entry for it, but a
      // runtime applies its mode and owner to the container's `/`, so only a root no one but root
      // may write passes: a world-writable `/` would be invisible to the gate's rules.
      if (normalized.reason === 'empty' && entry.type === 'dir') {
        if ((entry.mode & 0o7022) !== 0 || entry.uid !== 0) {
          throw unsafe(
            layer,
            entry,
            `names the root with mode ${octal(entry.mode & 0o7777)} owner ${entry.uid}:${entry.gid}, expected owner 0 and no write, setuid, setgid or sticky bit for others`,
          );
        }
        continue;
      }
      throw unsafe(layer, entry, rejectionReason(normalized));
    }
    const path = `/${normalized.path}`;
    (basename(path).startsWith(whiteoutPrefix) ? whiteouts : changes).push({ entry, path });
  }
  return { whiteouts, changes };
}

function applyWhiteout(rootfs: Rootfs, whiteout: LocatedEntry, layer: LayerEntries): void {
  const { entry, path } = whiteout;
  if (entry.type !== 'file') throw unsafe(layer, entry, `is a whiteout but a ${entry.type}, expected a file`);
  checkAncestors(rootfs, whiteout, layer);
  const dir = parentOf(path);
  const name = basename(path);
  if (name === opaqueWhiteout) {
    removeChildren(rootfs, dir);
    return;
  }
  const hidden = name.slice(whiteoutPrefix.length);
  // `.wh.` alone would hide the folder itself, `.wh..` its parent: no runtime writes either.
  if (hidden === '' || hidden === '.' || hidden === '..') {
    throw unsafe(layer, entry, 'is a whiteout that names no file');
  }
  removeTree(rootfs, join(dir, hidden));
}

/**
 * `parents` holds every path that has ever had something below it: only those can have children
 * to remove, so a layer of new files is applied in linear time, not one scan of the map per file.
 */
function applyChange(
  rootfs: Rootfs,
  change: LocatedEntry,
  context: { layer: LayerEntries; parents: Set<string> },
): void {
  const { layer, parents } = context;
  checkAncestors(rootfs, change, layer);
  const node = nodeOf(rootfs, change, layer);
  // A non-directory replaces a whole tree; a directory over a directory changes only its metadata.
  if (node.type !== 'dir' && parents.has(change.path)) removeChildren(rootfs, change.path);
  rootfs.set(change.path, node);
  for (let slash = change.path.lastIndexOf('/'); slash > 0; slash = change.path.lastIndexOf('/', slash - 1)) {
    const parent = change.path.slice(0, slash);
    if (parents.has(parent)) break;
    parents.add(parent);
  }
}

function nodeOf(rootfs: Rootfs, change: LocatedEntry, layer: LayerEntries): RootfsNode {
  const { entry, path } = change;
  const base = { path, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid };
  switch (entry.type) {
    case 'dir':
      return { ...base, type: 'dir', size: 0 };
    case 'file': {
      if (entry.content) return { ...base, type: 'file', size: entry.size, content: entry.content };
      const data = entry.data ?? Buffer.alloc(0);
      return { ...base, type: 'file', size: data.length, data };
    }
    case 'symlink': {
      const target = entry.linkname ?? '';
      if (target === '' || target.includes('\0')) {
        throw unsafe(layer, entry, 'is a symlink with an empty target');
      }
      if (symlinkEscapes(path.slice(1), target)) {
        throw unsafe(layer, entry, `is a symlink to ${JSON.stringify(target)}, which climbs above the root`);
      }
      return { ...base, type: 'symlink', size: 0, target };
    }
    case 'hardlink': {
      // A hard link shares its target's inode, so it has the target's bytes and metadata: the
      // reader sees one more regular file, as herd's file manifest records it.
      const target = normalizeArchivePath(entry.linkname ?? '');
      const linked = target.kind === 'ok' ? rootfs.get(`/${target.path}`) : undefined;
      if (linked?.type !== 'file') {
        throw unsafe(
          layer,
          entry,
          `is a hard link to ${JSON.stringify(entry.linkname ?? '')}, expected a regular file in this or a lower layer`,
        );
      }
      // GNU tar gives a hard link its target's metadata; containers/storage (podman's unpacker)
      // chowns and chmods the shared inode to the link header's. A link header that differs
      // (setuid root over a harmless binary) would show one file to herd and another at run time.
      if (base.mode !== linked.mode || base.uid !== linked.uid || base.gid !== linked.gid) {
        throw unsafe(
          layer,
          entry,
          `is a hard link with mode ${octal(base.mode)} owner ${base.uid}:${base.gid}, but its target ${linked.path} has mode ${octal(linked.mode)} owner ${linked.uid}:${linked.gid}: expected the same`,
        );
      }
      return { ...linked, path };
    }
    case 'char':
    case 'block':
    case 'fifo':
    case 'unknown':
      throw unsafe(
        layer,
        entry,
        `is a ${entry.type} entry${entry.typeflag === undefined ? '' : ` (typeflag ${JSON.stringify(entry.typeflag)})`}, expected a file, directory or link`,
      );
  }
}

/**
 * A runtime would write an entry under a symlink through the link (anywhere on the host, for a
 * link to `/etc`), and cannot write one under a file at all: both are refused.
 */
function checkAncestors(rootfs: Rootfs, located: LocatedEntry, layer: LayerEntries): void {
  const { path } = located;
  for (let slash = path.indexOf('/', 1); slash > 0; slash = path.indexOf('/', slash + 1)) {
    const ancestor = rootfs.get(path.slice(0, slash));
    if (ancestor && ancestor.type !== 'dir') {
      throw unsafe(layer, located.entry, `lies under ${ancestor.path}, which is a ${ancestor.type}`);
    }
  }
}

function removeTree(rootfs: Rootfs, path: string): void {
  rootfs.delete(path);
  removeChildren(rootfs, path);
}

/** Removes everything below `dir`, keeping `dir` itself; `/` is the root. */
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

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function unsafe(layer: LayerEntries, entry: LayerEntry, why: string): OciError {
  return new OciError('LAYER_UNSAFE', `layer ${layer.digest}: entry ${JSON.stringify(entry.path)} ${why}`);
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
