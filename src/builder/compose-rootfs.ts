/**
 * Composes the image's root filesystem from unpacked packages, herd's own system files and the
 * app files, on top of the base image's files when there is one. Pure: bytes in, tree out.
 * Maintainer scripts never run; what they would have done for a container (accounts, the CA
 * bundle, dpkg's database for scanners, alternatives, the folders and links they make:
 * script-effects.ts) is done here explicitly.
 *
 * Base entries keep the owner `base` only while they are exactly what the base's layers hold:
 * whatever herd changes gets another owner, and so lands in one of the new layers.
 */
import { createHash } from 'node:crypto';
import type { DebContents, DebFile } from '../debian/index.js';
import type { Spec } from '../specfile/index.js';
import { type AccountFiles, accountFiles, accountFilesOver } from './accounts.js';
import { BuildError } from './errors.js';
import { fileBytes } from './file-content.js';
import {
  comparePaths,
  ImageTree,
  ownerApp,
  ownerBase,
  ownerHerd,
  sameContent,
  type TreeNode,
} from './image-tree.js';
import { leftOutPaths } from './left-out-paths.js';
import type { LockedPackage } from './lock-file.js';
import { applyScriptEffects, type ScriptEffects } from './script-effects.js';

export interface UnpackedPackage {
  locked: LockedPackage;
  deb: DebContents;
  /**
   * The unpacked data.tar on disk, when the package was read as a stream: its files' bytes are
   * not held but are the ranges of this file that their `offset` and `sha256` give.
   */
  dataTar?: string;
}

export interface AppFileData {
  dst: string;
  mode: number;
  uid: number;
  gid: number;
  data: Buffer;
}

/** Top-level folders that bookworm's merged /usr turns into symlinks into /usr. */
const mergedUsrDirs = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'] as const;
const alwaysLinked = new Set(['bin', 'sbin', 'lib']);

export interface ComposeInput {
  spec: Spec;
  packages: UnpackedPackage[];
  appFiles: AppFileData[];
  /** The base image's flattened files (owner `base`), which everything else goes on top of. */
  base?: ReadonlyMap<string, TreeNode>;
}

export function composeRootfs(input: ComposeInput): ImageTree {
  return composeImage(input).tree;
}

/** The tree, and what herd did in place of the maintainer scripts (for the provenance and the gate). */
export function composeImage(input: ComposeInput): { tree: ImageTree; scriptEffects: ScriptEffects } {
  const { spec } = input;
  const tree = new ImageTree();
  for (const node of [...(input.base?.values() ?? [])].sort((a, b) => comparePaths(a.path, b.path))) {
    tree.add(node);
  }
  const isExcluded = leftOutPaths(spec.image);

  const packages = [...input.packages].sort((a, b) => (a.locked.name < b.locked.name ? -1 : 1));
  for (const pkg of packages) unpackInto(tree, pkg, isExcluded);
  for (const dir of mergedUsrDirs) {
    // A base's own /bin, link or folder, stands as the base has it.
    if (tree.get(dir)) continue;
    if (alwaysLinked.has(dir) || tree.get(`usr/${dir}`)) {
      tree.add({
        path: dir,
        type: 'symlink',
        target: `usr/${dir}`,
        mode: 0o777,
        uid: 0,
        gid: 0,
        owner: ownerHerd,
      });
    }
  }
  for (const pkg of packages) writeStatusEntry(tree, pkg);
  writeCaBundle(tree);
  writeAccounts(tree, spec);
  const scriptEffects = applyScriptEffects(
    tree,
    packages.map((pkg) => ({
      name: pkg.locked.name,
      ...(pkg.deb.preinst !== undefined ? { preinst: pkg.deb.preinst } : {}),
      ...(pkg.deb.postinst !== undefined ? { postinst: pkg.deb.postinst } : {}),
    })),
  );
  writeAppFiles(tree, spec, input.appFiles);
  pruneExcludedFolders(tree, isExcluded);
  return { tree, scriptEffects };
}

/** A package file's bytes as the tree keeps them: held, or a range of the unpacked data.tar. */
type FileBytes = Pick<TreeNode, 'data' | 'stored'>;

function bytesOf(file: DebFile, pkg: UnpackedPackage): FileBytes {
  if (file.offset === undefined || file.sha256 === undefined || pkg.dataTar === undefined) {
    return { data: file.data ?? Buffer.alloc(0) };
  }
  return { stored: { file: pkg.dataTar, offset: file.offset, size: file.size, sha256: file.sha256 } };
}

/** Maps a path from a package into merged /usr: `bin/sh` lands at `usr/bin/sh`. */
export function toMergedUsr(path: string): string {
  const first = path.split('/', 1)[0] as string;
  return (mergedUsrDirs as readonly string[]).includes(first) ? `usr/${path}` : path;
}

function unpackInto(tree: ImageTree, pkg: UnpackedPackage, isExcluded: (path: string) => boolean): void {
  const owner = pkg.locked.name;
  const byPath = new Map<string, FileBytes>();
  for (const file of pkg.deb.files) {
    const path = toMergedUsr(file.path);
    if (path === '' || (mergedUsrDirs as readonly string[]).includes(path)) continue;
    const base = { path, mode: file.mode & 0o7777, uid: file.uid, gid: file.gid, owner };
    switch (file.type) {
      case 'dir':
        tree.add({ ...base, type: 'dir' });
        break;
      case 'file': {
        const bytes = bytesOf(file, pkg);
        byPath.set(path, bytes);
        if (!isExcluded(path)) tree.add({ ...base, type: 'file', ...bytes });
        break;
      }
      case 'symlink':
        if (!isExcluded(path))
          tree.add({ ...base, type: 'symlink', target: file.linkname ?? '', mode: 0o777 });
        break;
      case 'hardlink': {
        // Hard links become copies: each path then stands alone in the file manifest and in layers.
        const bytes = byPath.get(toMergedUsr(file.linkname ?? '')) ?? { data: Buffer.alloc(0) };
        byPath.set(path, bytes);
        if (!isExcluded(path)) tree.add({ ...base, type: 'file', ...bytes });
        break;
      }
    }
  }
}

/**
 * `/var/lib/dpkg/status.d/<pkg>` and `<pkg>.md5sums`, the layout distroless writes and Trivy and
 * Syft read. The md5sums list only files that are really in the image.
 */
function writeStatusEntry(tree: ImageTree, pkg: UnpackedPackage): void {
  const owner = pkg.locked.name;
  const dir = 'var/lib/dpkg/status.d';
  const control = `${pkg.deb.control.trimEnd()}\n`;
  tree.add({
    path: `${dir}/${owner}`,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    data: Buffer.from(control),
    owner,
  });
  const lines = pkg.deb.md5sums ? keptMd5sums(tree, pkg.deb.md5sums) : computedMd5sums(tree, owner);
  if (lines.length === 0) return;
  tree.add({
    path: `${dir}/${owner}.md5sums`,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    data: Buffer.from(`${lines.join('\n')}\n`),
    owner,
  });
}

/** The package's own md5sums, less the files that were left out of the image. */
function keptMd5sums(tree: ImageTree, md5sums: string): string[] {
  return md5sums.split('\n').filter((line) => {
    const path = line.replace(/^[0-9a-f]{32} +/, '').replace(/^\.?\//, '');
    return path !== '' && tree.get(toMergedUsr(path))?.type === 'file';
  });
}

/** Packages built without dh_md5sums ship none; scanners still need the list of files a package owns. */
function computedMd5sums(tree: ImageTree, owner: string): string[] {
  return tree
    .sorted()
    .filter((node) => node.owner === owner && node.type === 'file' && !node.path.startsWith('var/lib/dpkg/'))
    .map((node) => `${createHash('md5').update(fileBytes(node)).digest('hex')}  ${node.path}`);
}

/**
 * What update-ca-certificates would write: every certificate under /usr/share/ca-certificates,
 * concatenated in path order, at /etc/ssl/certs/ca-certificates.crt.
 */
function writeCaBundle(tree: ImageTree): void {
  const certs = tree
    .sorted()
    .filter(
      (n) => n.type === 'file' && n.path.startsWith('usr/share/ca-certificates/') && n.path.endsWith('.crt'),
    );
  // Only new certificates make a new bundle; the base's bundle is the base's, however it was made.
  const added = certs.find((n) => n.owner !== ownerBase);
  if (!added) return;
  const bundle = Buffer.concat(certs.map((n) => ensureNewline(fileBytes(n))));
  const owner = added.owner;
  tree.add(
    {
      path: 'etc/ssl/certs/ca-certificates.crt',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      data: bundle,
      owner,
    },
    { replace: true },
  );
}

function writeAccounts(tree: ImageTree, spec: Spec): void {
  const { passwd, group, homes } = accountsFor(tree, spec);
  const etc = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, owner: ownerHerd };
  writeOver(tree, { ...etc, path: 'etc/passwd', data: Buffer.from(passwd) });
  writeOver(tree, { ...etc, path: 'etc/group', data: Buffer.from(group) });
  for (const home of homes) {
    tree.add({ path: home.path, type: 'dir', mode: 0o700, uid: home.uid, gid: home.gid, owner: ownerHerd });
  }
  writeOver(tree, { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, owner: ownerHerd });
}

/** A base's accounts are kept and added to; without a base (or its files) herd writes its own. */
function accountsFor(tree: ImageTree, spec: Spec): AccountFiles {
  const fromBase = (path: string) => {
    const node = tree.get(path);
    return node?.owner === ownerBase && node.type === 'file' ? fileBytes(node).toString('utf8') : undefined;
  };
  const passwd = fromBase('etc/passwd');
  const group = fromBase('etc/group');
  if (passwd === undefined && group === undefined) return accountFiles(spec.run.user);
  return accountFilesOver({ passwd: passwd ?? '', group: group ?? '' }, spec.run.user);
}

/** Writes what herd owns over what is there; a base's identical entry stays the base's. */
function writeOver(tree: ImageTree, node: TreeNode): void {
  const existing = tree.get(node.path);
  if (existing?.owner === ownerBase && sameContent(existing, node)) return;
  tree.add(node, { replace: true });
}

function writeAppFiles(tree: ImageTree, spec: Spec, appFiles: AppFileData[]): void {
  for (const file of appFiles) {
    const path = file.dst.replace(/^\/+/, '');
    writeOver(tree, {
      path,
      type: 'file',
      mode: file.mode,
      uid: file.uid,
      gid: file.gid,
      data: file.data,
      owner: ownerApp,
    });
  }
  const workdir = spec.run.workdir.replace(/^\/+/, '');
  if (workdir !== '' && !tree.get(workdir)) {
    tree.add({ path: workdir, type: 'dir', mode: 0o755, uid: 0, gid: 0, owner: ownerApp });
  }
  writeWritableMountPoints(tree, spec);
}

/** Shared scratch folders keep their sticky, world-writable mode; any other writable path is the run user's alone. */
const sharedScratch = new Set(['tmp', 'var/tmp']);

/**
 * Writable paths become tmpfs mounts at run time, and runc gives a tmpfs the mode of its mount
 * point whatever `mode=` says. So the image carries each mount point owned by the run user with
 * the mode the tmpfs must have, also where a package ships the folder (nginx's /var/lib/nginx);
 * the folder's content stays, owned by the run user, and the engine copies it into the tmpfs.
 */
export function writeWritableMountPoints(tree: ImageTree, spec: Spec): void {
  const { uid, gid } = spec.run.user;
  for (const writable of spec.run.writable) {
    const path = writable.replace(/^\/+/, '');
    if (path === '') continue;
    const existing = tree.get(path);
    if (existing && existing.type !== 'dir') {
      throw new BuildError(
        'WRITABLE_NOT_FOLDER',
        `run.writable ${writable}: expected a folder, but ${existing.owner} ships a ${existing.type} there`,
      );
    }
    const mode = sharedScratch.has(path) ? 0o1777 : 0o700;
    writeOver(tree, { path, type: 'dir', mode, uid, gid, owner: ownerApp });
    // The engine copies what is there into the tmpfs with its owners, and chowns only the tmpfs
    // itself: what a package ships there must be the run user's already, or it stays read-only.
    for (const node of tree.sorted()) {
      if (!node.path.startsWith(`${path}/`) || (node.uid === uid && node.gid === gid)) continue;
      tree.add(
        { ...node, uid, gid, owner: node.owner === ownerBase ? ownerApp : node.owner },
        { replace: true },
      );
    }
  }
}

/**
 * Removes excluded folders that ended up empty; a folder holding a kept file stays. The base's
 * folders stay too: exclusion applies to what packages bring, and herd's layers cannot remove.
 */
function pruneExcludedFolders(tree: ImageTree, isExcluded: (path: string) => boolean): void {
  const hasChild = new Set<string>();
  const nodes: TreeNode[] = tree.sorted().reverse();
  for (const node of nodes) {
    if (
      node.type === 'dir' &&
      node.owner !== ownerBase &&
      !hasChild.has(node.path) &&
      isExcluded(node.path)
    ) {
      tree.remove(node.path);
      continue;
    }
    const slash = node.path.lastIndexOf('/');
    if (slash > 0) hasChild.add(node.path.slice(0, slash));
  }
}

function ensureNewline(data: Buffer): Buffer {
  return data.length > 0 && data[data.length - 1] !== 0x0a ? Buffer.concat([data, Buffer.from('\n')]) : data;
}
