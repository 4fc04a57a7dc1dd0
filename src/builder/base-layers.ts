/**
 * Flattens a base image's layers into one root filesystem, as an engine would unpack them, and
 * treats every entry as hostile: the base may be any OCI image. Pure: tar entries in, tree nodes out.
 * Whiteouts and the changeset rules: https://github.com/opencontainers/image-spec/blob/v1.1.0/layer.md
 */
import { rejectionReason, symlinkEscapes } from '../debian/deb.js';
import { normalizeArchivePath, type TarReadEntry } from '../oci/tar.js';
import { BuildError } from './errors.js';
import { ownerBase, type TreeNode } from './image-tree.js';

export interface BaseLayerEntries {
  /** Names the layer in errors: its digest. */
  name: string;
  entries: TarReadEntry[];
}

const whiteoutPrefix = '.wh.';
const opaqueWhiteout = '.wh..wh..opq';

/** The root filesystem after every layer, by path (relative, no leading slash), owned by `base`. */
export function flattenBaseLayers(layers: readonly BaseLayerEntries[]): Map<string, TreeNode> {
  const files = new Map<string, TreeNode>();
  for (const layer of layers) {
    const { whiteouts, changes } = splitWhiteouts(layer);
    // A whiteout hides only what lower layers hold, never an entry of its own layer (layer.md).
    for (const whiteout of whiteouts) applyWhiteout(files, whiteout, layer);
    for (const { entry, path } of changes) applyChange(files, { entry, path }, layer);
  }
  return files;
}

interface LayerEntry {
  entry: TarReadEntry;
  path: string;
}

function splitWhiteouts(layer: BaseLayerEntries): { whiteouts: LayerEntry[]; changes: LayerEntry[] } {
  const whiteouts: LayerEntry[] = [];
  const changes: LayerEntry[] = [];
  for (const entry of layer.entries) {
    const normalized = normalizeArchivePath(entry.path);
    if (normalized.kind === 'rejected') {
      if (normalized.reason === 'empty' && entry.type === 'dir') continue; // the root, `./`
      throw unsafe(layer, entry, rejectionReason(normalized));
    }
    const name = normalized.path.slice(normalized.path.lastIndexOf('/') + 1);
    (name.startsWith(whiteoutPrefix) ? whiteouts : changes).push({ entry, path: normalized.path });
  }
  return { whiteouts, changes };
}

function applyWhiteout(files: Map<string, TreeNode>, whiteout: LayerEntry, layer: BaseLayerEntries): void {
  const { entry, path } = whiteout;
  if (entry.type !== 'file') throw unsafe(layer, entry, `is a whiteout but a ${entry.type}, expected a file`);
  checkAncestors(files, whiteout, layer);
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : path.slice(0, slash);
  const name = path.slice(slash + 1);
  if (name === opaqueWhiteout) {
    removeUnder(files, dir);
    return;
  }
  const hidden = name.slice(whiteoutPrefix.length);
  if (hidden === '' || hidden === '.' || hidden === '..') {
    throw unsafe(layer, entry, 'is a whiteout that names no file');
  }
  const target = dir === '' ? hidden : `${dir}/${hidden}`;
  files.delete(target);
  removeUnder(files, target);
}

function applyChange(files: Map<string, TreeNode>, change: LayerEntry, layer: BaseLayerEntries): void {
  const { entry, path } = change;
  checkAncestors(files, change, layer);
  const base = { path, mode: entry.mode & 0o7777, uid: entry.uid, gid: entry.gid, owner: ownerBase };
  let node: TreeNode;
  switch (entry.type) {
    case 'dir':
      node = { ...base, type: 'dir' };
      break;
    case 'file':
      node = { ...base, type: 'file', data: entry.data ?? Buffer.alloc(0) };
      break;
    case 'symlink': {
      const target = entry.linkname ?? '';
      if (target === '' || target.includes('\0'))
        throw unsafe(layer, entry, 'is a symlink with an empty target');
      if (symlinkEscapes(path, target)) {
        throw unsafe(layer, entry, `is a symlink to ${target}, which climbs above the root`);
      }
      node = { ...base, type: 'symlink', target };
      break;
    }
    case 'hardlink': {
      // A hard link shares its target's inode, so it takes the target's metadata; it becomes a copy,
      // as hard links in packages do (compose-rootfs.ts).
      const target = normalizeArchivePath(entry.linkname ?? '');
      const file = target.kind === 'ok' ? files.get(target.path) : undefined;
      if (file?.type !== 'file') {
        throw unsafe(
          layer,
          entry,
          `is a hardlink to ${entry.linkname}, expected a regular file in this or a lower layer`,
        );
      }
      node = { ...file, path };
      break;
    }
    case 'char':
    case 'block':
    case 'fifo':
    case 'unknown':
      throw unsafe(
        layer,
        entry,
        `is a ${entry.type} entry (typeflag ${JSON.stringify(entry.typeflag)}), expected a file, directory or link`,
      );
  }
  const existing = files.get(path);
  // A folder over a folder changes only its metadata; anything else replaces the old entry whole.
  if (existing?.type === 'dir' && node.type !== 'dir') removeUnder(files, path);
  files.set(path, node);
}

/** An entry under a symlink or a file would be written through it, or not at all: refuse both. */
function checkAncestors(files: Map<string, TreeNode>, change: LayerEntry, layer: BaseLayerEntries): void {
  const { path } = change;
  for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
    const ancestor = files.get(path.slice(0, slash));
    if (ancestor && ancestor.type !== 'dir') {
      throw unsafe(layer, change.entry, `lies under /${ancestor.path}, which is a ${ancestor.type}`);
    }
  }
}

/** Removes everything below `dir`, keeping `dir` itself; '' is the root. */
function removeUnder(files: Map<string, TreeNode>, dir: string): void {
  const prefix = dir === '' ? '' : `${dir}/`;
  for (const path of [...files.keys()]) if (path.startsWith(prefix) && path !== dir) files.delete(path);
}

function unsafe(layer: BaseLayerEntries, entry: TarReadEntry, why: string): BuildError {
  return new BuildError('BASE_UNSAFE', `base layer ${layer.name}: entry ${entry.path} ${why}`);
}
