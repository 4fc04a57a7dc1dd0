/**
 * The one reader of an image's dpkg database, for the build (a base image's packages) and the gate
 * (what an image holds, for vulnerabilities and ownership). It reads what scanners read: herd's and
 * distroless' `/var/lib/dpkg/status.d/<pkg>` stanzas with their `<pkg>.md5sums`, and a classic
 * `/var/lib/dpkg/status` with `info/<pkg>.list`. An image with neither has no packages. Pure.
 * The database comes from an image's layers, so it is hostile input: every name, version and
 * architecture is held to Debian Policy, a package listed twice is refused, and anything unreadable
 * fails closed with DPKG_DATABASE_INVALID naming the record.
 * deb822: https://manpages.debian.org/bookworm/dpkg-dev/deb822.5.en.html
 */
import { architectureProblem, packageNameProblem, versionProblem } from './archive-names.js';
import { field, type Paragraph, parseControlParagraphs, parseSourceField } from './control.js';
import { DebianError } from './errors.js';

/** What the reader needs of one path of an image's root filesystem (src/oci's RootfsNode fits). */
export interface ImageFile {
  type: 'file' | 'dir' | 'symlink';
  /** A regular file's bytes. */
  data?: Buffer;
  /** A symlink's target. */
  target?: string;
}

/** Absolute path (`/var/lib/dpkg/status`) → file. */
export type ImageFiles = ReadonlyMap<string, ImageFile>;

/** One package the dpkg database says is on disk. */
export interface DpkgRecord {
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
  /** The whole stanza, in file order. */
  paragraph: Paragraph;
}

const statusDir = '/var/lib/dpkg/status.d';
const statusFile = '/var/lib/dpkg/status';
const infoDir = '/var/lib/dpkg/info';

/**
 * dpkg's package states (dpkg-query(1)). Only `not-installed` and `config-files` leave no files of
 * the package on disk; a half-installed or unpacked package's files are there to be judged.
 */
const statesOnDisk = new Set([
  'installed',
  'half-installed',
  'unpacked',
  'half-configured',
  'triggers-awaited',
  'triggers-pending',
]);
const statesOffDisk = new Set(['not-installed', 'config-files']);

/** Every package on disk, sorted by name then architecture. */
export function readDpkgStatus(files: ImageFiles): DpkgRecord[] {
  const found = new Map<string, DpkgRecord>();
  for (const [path, node] of databaseFiles(files)) {
    for (const paragraph of paragraphsOf(node, path)) {
      if (!isOnDisk(paragraph, path)) continue;
      const record = recordOf(paragraph, path);
      const key = `${record.name}:${record.architecture}`;
      const earlier = found.get(key);
      if (earlier) {
        throw new DebianError(
          'DPKG_DATABASE_INVALID',
          `dpkg database lists ${record.name} (${record.architecture}) twice: in ${earlier.recordPath} and again in ${path}`,
        );
      }
      found.set(key, record);
    }
  }
  return [...found.values()].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.architecture, b.architecture),
  );
}

/**
 * Path in the image → the package that ships it, from status.d's md5sums and, beside a status
 * file, info/*.list, of packages on disk. Paths no such package names are absent.
 */
export function readFileOwners(files: ImageFiles): Map<string, string> {
  const owners = new Map<string, string>();
  // Owning a file exempts it from checks (the secret scan skips a package's own known files), so
  // a list counts only for a package the database says is on disk: a lone `ghost.md5sums` or
  // `info/ghost.list` a hostile layer adds claims nothing.
  const installed = new Set(readDpkgStatus(files).map((record) => record.name));
  for (const [path, node] of files) {
    const name = statusDirEntry(path, node);
    if (name === undefined || !name.endsWith('.md5sums')) continue;
    const owner = name.slice(0, -'.md5sums'.length);
    if (!installed.has(owner)) continue;
    for (const owned of md5sumsPaths(textOf(node))) owners.set(resolveParents(files, owned), owner);
  }
  if (files.get(statusFile)?.type !== 'file') return owners;
  for (const [path, node] of files) {
    if (node.type !== 'file' || !path.startsWith(`${infoDir}/`) || !path.endsWith('.list')) continue;
    // `libc6:amd64.list` for a Multi-Arch: same package.
    const owner = path.slice(infoDir.length + 1, -'.list'.length).split(':')[0] ?? '';
    if (!installed.has(owner)) continue;
    for (const line of textOf(node).split('\n')) {
      const owned = line.trim();
      if (owned.startsWith('/') && owned !== '/.') owners.set(resolveParents(files, owned), owner);
    }
  }
  return owners;
}

/** status.d entries (not their .md5sums) and the status file, in path order. */
function databaseFiles(files: ImageFiles): [string, ImageFile][] {
  const found: [string, ImageFile][] = [];
  for (const [path, node] of files) {
    const name = statusDirEntry(path, node);
    if ((name !== undefined && !name.endsWith('.md5sums')) || (path === statusFile && node.type === 'file')) {
      found.push([path, node]);
    }
  }
  return found.sort((a, b) => compareText(a[0], b[0]));
}

/** The name of a regular file directly in status.d, else undefined. */
function statusDirEntry(path: string, node: ImageFile): string | undefined {
  if (node.type !== 'file' || !path.startsWith(`${statusDir}/`)) return undefined;
  const name = path.slice(statusDir.length + 1);
  return name.includes('/') ? undefined : name;
}

function paragraphsOf(node: ImageFile, path: string): Paragraph[] {
  try {
    return parseControlParagraphs(textOf(node), { origin: path });
  } catch (cause) {
    if (!(cause instanceof DebianError)) throw cause;
    throw new DebianError('DPKG_DATABASE_INVALID', `dpkg record ${cause.message}`, { cause });
  }
}

/**
 * status.d stanzas usually have no Status field: being there means installed. A Status that is not
 * `want flag state` with a state dpkg knows is refused rather than guessed at.
 */
function isOnDisk(paragraph: Paragraph, path: string): boolean {
  const status = field(paragraph, 'Status');
  if (status === undefined) return true;
  const words = status.trim().split(/\s+/);
  const state = words[2] ?? '';
  if (words.length === 3 && statesOnDisk.has(state)) return true;
  if (words.length === 3 && statesOffDisk.has(state)) return false;
  throw invalidRecord(
    paragraph,
    path,
    `has Status "${status.trim()}", expected "<want> <flag> <state>" with a dpkg package state`,
  );
}

function recordOf(paragraph: Paragraph, path: string): DpkgRecord {
  const get = (name: string) => field(paragraph, name)?.trim() ?? '';
  const name = get('Package');
  const version = get('Version');
  const architecture = get('Architecture');
  const nameIssue = packageNameProblem(name);
  if (nameIssue) throw invalidRecord(paragraph, path, `has Package "${name}": ${nameIssue}`);
  const versionIssue = versionProblem(version);
  if (versionIssue) throw invalidRecord(paragraph, path, `has Version "${version}": ${versionIssue}`);
  const architectureIssue = architectureProblem(architecture);
  if (architectureIssue) {
    throw invalidRecord(paragraph, path, `has Architecture "${architecture}": ${architectureIssue}`);
  }
  // `Source: openssl (3.0.11-1)` when the source version differs from the binary's.
  const source = parseSourceField(get('Source'), { name, version });
  if (!source) {
    throw invalidRecord(
      paragraph,
      path,
      `has Source "${get('Source')}", expected "name" or "name (version)"`,
    );
  }
  const sourceIssue = packageNameProblem(source.name) ?? versionProblem(source.version);
  if (sourceIssue) throw invalidRecord(paragraph, path, `has Source "${get('Source')}": ${sourceIssue}`);
  const size = get('Installed-Size');
  return {
    name,
    version,
    architecture,
    source: source.name,
    sourceVersion: source.version,
    ...(/^\d+$/.test(size) ? { installedSizeKiB: Number(size) } : {}),
    recordPath: path,
    paragraph,
  };
}

function invalidRecord(paragraph: Paragraph, path: string, why: string): DebianError {
  const name = field(paragraph, 'Package')?.trim() ?? '';
  return new DebianError('DPKG_DATABASE_INVALID', `dpkg record ${path}: stanza "${name}" ${why}`);
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
function resolveParents(files: ImageFiles, path: string): string {
  const parts = path.split('/').filter(Boolean);
  let resolved: string[] = [];
  for (const [index, part] of parts.entries()) {
    resolved.push(part);
    if (index === parts.length - 1) break;
    for (let hops = 0; hops < 8; hops++) {
      const node = files.get(`/${resolved.join('/')}`);
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

function textOf(node: ImageFile): string {
  return (node.data ?? Buffer.alloc(0)).toString('utf8');
}

/** Code-unit order, not locale order, so the result is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
