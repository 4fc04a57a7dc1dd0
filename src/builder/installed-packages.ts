/**
 * The Debian packages a base image has installed, read from the dpkg database it ships:
 * `/var/lib/dpkg/status.d/<pkg>` (herd and distroless write one stanza per package) and
 * `/var/lib/dpkg/status` (a regular Debian image). An image with neither simply has none. Pure.
 * The stanzas come from the base's layers, so they are hostile input: fields are checked, and
 * anything unreadable fails closed.
 */

import { versionProblem } from '../debian/archive-names.js';
import { field, type Paragraph, parseControlParagraphs } from '../debian/control.js';
import { DebianError } from '../debian/errors.js';
import type { PackageRecord } from '../debian/types.js';
import { BuildError } from './errors.js';
import type { TreeNode } from './image-tree.js';

export const statusDir = 'var/lib/dpkg/status.d';
const statusFile = 'var/lib/dpkg/status';

/** Marks records that came from an image rather than an archive. */
export const installedSuite = 'installed';

/** Debian Policy §5.6.1. */
const packageNamePattern = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * Every installed package, sorted by name then architecture. `suite` is `installed`; `filename`,
 * `size` and `sha256` are empty, since the .deb it came from is not known.
 */
export function installedPackagesOf(files: ReadonlyMap<string, TreeNode>): PackageRecord[] {
  const found = new Map<string, PackageRecord>();
  for (const [path, text] of dpkgDatabaseFiles(files)) {
    let paragraphs: Paragraph[];
    try {
      paragraphs = parseControlParagraphs(text, { origin: `/${path}` });
    } catch (error) {
      if (!(error instanceof DebianError)) throw error;
      throw new BuildError('BASE_INVALID', `base image's ${error.message}`, { cause: error });
    }
    for (const paragraph of paragraphs) {
      if (!isInstalled(paragraph)) continue;
      const record = recordOf(paragraph, `/${path}`);
      const key = `${record.name}:${record.architecture}`;
      if (found.has(key)) {
        throw new BuildError(
          'BASE_INVALID',
          `base image's dpkg database lists ${record.name} (${record.architecture}) twice, again in /${path}`,
        );
      }
      found.set(key, record);
    }
  }
  return [...found.values()].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.architecture, b.architecture),
  );
}

/** status.d entries (not their .md5sums) and the status file, in path order. */
function dpkgDatabaseFiles(files: ReadonlyMap<string, TreeNode>): [string, string][] {
  const found: [string, string][] = [];
  for (const [path, node] of files) {
    if (node.type !== 'file') continue;
    const inStatusDir = path.startsWith(`${statusDir}/`) && !path.slice(statusDir.length + 1).includes('/');
    if ((inStatusDir && !path.endsWith('.md5sums')) || path === statusFile) {
      found.push([path, (node.data ?? Buffer.alloc(0)).toString('utf8')]);
    }
  }
  return found.sort((a, b) => compareText(a[0], b[0]));
}

/** status.d stanzas have no Status field; the status file also keeps removed packages' config files. */
function isInstalled(paragraph: Paragraph): boolean {
  const status = field(paragraph, 'Status');
  return status === undefined || status.trim().split(/\s+/).at(-1) === 'installed';
}

function recordOf(paragraph: Paragraph, where: string): PackageRecord {
  const get = (name: string) => field(paragraph, name)?.trim() ?? '';
  const invalid = (why: string) =>
    new BuildError('BASE_INVALID', `base image's ${where}: stanza "${get('Package')}" ${why}`);
  const name = get('Package');
  const version = get('Version');
  const architecture = get('Architecture');
  if (!packageNamePattern.test(name)) throw invalid('has no valid Package name');
  const versionIssue = versionProblem(version);
  if (versionIssue) throw invalid(`has Version "${version}": ${versionIssue}`);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(architecture)) throw invalid(`has Architecture "${architecture}"`);
  const source = /^(\S+)(?:\s+\((\S+)\))?$/.exec(get('Source'));
  if (get('Source') !== '' && !source)
    throw invalid(`has Source "${get('Source')}", expected "name (version)"`);
  const multiArch = get('Multi-Arch');
  const priority = get('Priority');
  // Relation fields may be folded over several lines; the relation parser reads one line.
  const relation = (fieldName: string) => get(fieldName).replace(/\s*\n\s*/g, ' ');
  return {
    name,
    version,
    architecture,
    source: source?.[1] ?? name,
    sourceVersion: source?.[2] ?? version,
    depends: relation('Depends'),
    preDepends: relation('Pre-Depends'),
    recommends: relation('Recommends'),
    provides: relation('Provides'),
    conflicts: relation('Conflicts'),
    breaks: relation('Breaks'),
    ...(multiArch ? { multiArch } : {}),
    essential: get('Essential').toLowerCase() === 'yes',
    ...(priority ? { priority } : {}),
    filename: '',
    size: 0,
    sha256: '',
    suite: installedSuite,
    repository: '',
    fields: paragraph,
  };
}

/** Code-unit order, not locale order, so the result is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
