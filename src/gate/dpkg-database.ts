/**
 * The packages an image holds and the files each one owns, read from the image's dpkg database as
 * scanners read it: herd's (and distroless') `/var/lib/dpkg/status.d/<pkg>` entries with their
 * `<pkg>.md5sums`, or a classic `/var/lib/dpkg/status` with `info/<pkg>.list`. Pure.
 * deb822: https://manpages.debian.org/bookworm/dpkg-dev/deb822.5.en.html
 */
import { field, type Paragraph, parseControlParagraphs } from '../debian/control.js';
import type { Rootfs, RootfsNode } from '../oci/flatten-layers.js';
import { GateError } from './errors.js';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** Source package name; the binary's own name when the record has no Source field. */
  source: string;
  /** Source version; the binary version when `Source:` carries none. */
  sourceVersion: string;
  /** Installed-Size as the package declares it, in KiB. */
  installedSizeKiB?: number;
  /** Where the record was read, e.g. `/var/lib/dpkg/status.d/openssl`. */
  recordPath: string;
}

export interface DpkgDatabase {
  packages: InstalledPackage[];
  /** Path in the image → the package that ships it. Paths no package owns are absent. */
  owners: Map<string, string>;
}

const statusDir = '/var/lib/dpkg/status.d/';
const statusFile = '/var/lib/dpkg/status';
const infoDir = '/var/lib/dpkg/info/';

export function readDpkgDatabase(rootfs: Rootfs): DpkgDatabase {
  const packages: InstalledPackage[] = [];
  const owners = new Map<string, string>();
  for (const node of rootfs.values()) {
    if (node.type !== 'file' || !node.path.startsWith(statusDir)) continue;
    const name = node.path.slice(statusDir.length);
    if (name.includes('/')) continue;
    if (name.endsWith('.md5sums')) {
      const owner = name.slice(0, -'.md5sums'.length);
      for (const path of md5sumsPaths(textOf(node))) owners.set(resolveParents(rootfs, path), owner);
      continue;
    }
    for (const paragraph of paragraphsOf(node)) packages.push(packageOf(paragraph, node.path));
  }
  const status = rootfs.get(statusFile);
  if (status?.type === 'file') {
    for (const paragraph of paragraphsOf(status)) {
      // dpkg keeps removed packages' config files in `status` too; only installed ones are in the image.
      if (!/\binstalled$/.test(field(paragraph, 'Status') ?? '')) continue;
      packages.push(packageOf(paragraph, statusFile));
    }
    for (const node of rootfs.values()) {
      if (node.type !== 'file' || !node.path.startsWith(infoDir) || !node.path.endsWith('.list')) continue;
      const owner = node.path.slice(infoDir.length, -'.list'.length).split(':')[0] ?? '';
      for (const line of textOf(node).split('\n')) {
        const path = line.trim();
        if (path.startsWith('/') && path !== '/.') owners.set(resolveParents(rootfs, path), owner);
      }
    }
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { packages, owners };
}

function packageOf(paragraph: Paragraph, recordPath: string): InstalledPackage {
  const get = (name: string) => field(paragraph, name)?.trim() ?? '';
  const name = get('Package');
  const version = get('Version');
  if (name === '' || version === '') {
    throw new GateError(
      'IMAGE_INVALID',
      `dpkg record ${recordPath} has Package "${name}" and Version "${version}", expected both`,
    );
  }
  // `Source: openssl (3.0.11-1)` when the source version differs from the binary's.
  const [, source = name, sourceVersion = version] = /^(\S+)(?:\s+\((\S+)\))?$/.exec(get('Source')) ?? [];
  const size = get('Installed-Size');
  return {
    name,
    version,
    architecture: get('Architecture'),
    source,
    sourceVersion,
    ...(/^\d+$/.test(size) ? { installedSizeKiB: Number(size) } : {}),
    recordPath,
  };
}

function paragraphsOf(node: RootfsNode): Paragraph[] {
  try {
    return parseControlParagraphs(textOf(node), { origin: node.path });
  } catch (cause) {
    throw new GateError('IMAGE_INVALID', `dpkg record ${node.path} is not deb822 control text`, { cause });
  }
}

/** `<md5>  usr/bin/x` lines; the paths are relative to the root, as in the package. */
function md5sumsPaths(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/^[0-9a-f]{32} +/, '').replace(/^\.?\/+/, ''))
    .filter((path) => path !== '')
    .map((path) => `/${path}`);
}

/**
 * Where a path the package names really is: `/bin/sh` is `/usr/bin/sh` once /bin is a symlink to
 * usr/bin (merged /usr). Only the parent folders are followed, and only a few links deep.
 */
function resolveParents(rootfs: Rootfs, path: string): string {
  const parts = path.split('/').filter(Boolean);
  let resolved: string[] = [];
  for (const [index, part] of parts.entries()) {
    resolved.push(part);
    if (index === parts.length - 1) break;
    for (let hops = 0; hops < 8; hops++) {
      const node = rootfs.get(`/${resolved.join('/')}`);
      if (node?.type !== 'symlink' || node.target === undefined) break;
      const base = node.target.startsWith('/') ? [] : resolved.slice(0, -1);
      resolved = normalizeParts([...base, ...node.target.split('/')]);
    }
  }
  return `/${resolved.join('/')}`;
}

function normalizeParts(parts: string[]): string[] {
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function textOf(node: RootfsNode): string {
  return (node.data ?? Buffer.alloc(0)).toString('utf8');
}
