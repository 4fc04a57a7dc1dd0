/**
 * What the drift probe saw against what the image holds: the FilesystemChange[] Docker's diff would
 * give, worked out from two listings instead of an overlay's upper layer. Pure.
 *
 * - added: a path the probe saw that the image lacks;
 * - deleted: an image path the probe did not see, unless it lies under a skipped mount (an emptyDir
 *   hides what the image had there) or under a directory the probe could not read;
 * - modified: another type, mode, owner, a regular file's sha256 (its size when the probe could not
 *   read it), or a symlink's target. A directory is not "modified" because its contents changed:
 *   the contents are the changes.
 *
 * The root itself is left out: its mode and owner are the runtime's, not the image's.
 */
import type { FileManifestEntry } from '../../oci/index.js';
import type { FilesystemChange } from '../engine.js';
import type { ProbeEntry } from './probe-listing.js';

export function compareListing(
  image: readonly FileManifestEntry[],
  listing: readonly ProbeEntry[],
  options: { skipped: readonly string[] },
): FilesystemChange[] {
  const under = (path: string, roots: Iterable<string>) => {
    for (const root of roots)
      if (path === root || path.startsWith(root === '/' ? '/' : `${root}/`)) return true;
    return false;
  };
  const skipped = [...options.skipped];
  const seen = new Map(listing.map((entry) => [entry.path, entry]));
  const unreadableDirs = listing
    .filter((entry) => entry.type === 'dir' && entry.unreadable)
    .map((entry) => entry.path);
  const changes: FilesystemChange[] = [];
  const expected = new Map<string, FileManifestEntry>();
  for (const entry of image) {
    if (entry.path === '/' || under(entry.path, skipped)) continue;
    expected.set(entry.path, entry);
    const actual = seen.get(entry.path);
    if (!actual) {
      // Inside an unreadable directory the probe saw nothing, so nothing there reads as deleted.
      const hidden = unreadableDirs.some((dir) => entry.path.startsWith(`${dir}/`));
      if (!hidden) changes.push({ path: entry.path, kind: 'deleted' });
    } else if (differs(entry, actual)) {
      changes.push({ path: entry.path, kind: 'modified' });
    }
  }
  for (const entry of listing) {
    if (entry.path === '/' || under(entry.path, skipped) || expected.has(entry.path)) continue;
    changes.push({ path: entry.path, kind: 'added' });
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function differs(image: FileManifestEntry, actual: ProbeEntry): boolean {
  if (image.type !== actual.type) return true;
  if ((image.mode & 0o7777) !== actual.mode || image.uid !== actual.uid || image.gid !== actual.gid)
    return true;
  switch (image.type) {
    case 'file':
      return actual.sha256 !== undefined ? actual.sha256 !== image.sha256 : actual.size !== image.size;
    case 'symlink':
      return actual.target !== undefined && actual.target !== image.target;
    case 'dir':
      return false;
    default:
      return assertNever(image.type);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled entry type ${String(value)}`);
}
