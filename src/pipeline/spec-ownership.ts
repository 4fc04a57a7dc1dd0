/**
 * Who may change a spec the control plane reads unattended. The remediation loop reads a
 * registered herd.yaml again at every check, builds what it says and signs the image with herd's
 * key, and replaces the herd.lock beside it when production runs the new image. So the spec, its
 * lock and every folder above them must be changeable only by herd's own user (or root), as ssh's
 * StrictModes asks of authorized_keys: another user who could edit or swap the spec would get
 * herd's key to sign an image of their choosing.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { LoadedSpec } from '../specfile/index.js';
import { PipelineError } from './errors.js';

/** What decides whether a path is safe: its kind, mode bits and owner. */
export interface PathOwnership {
  path: string;
  kind: 'file' | 'folder';
  mode: number;
  uid: number;
}

const otherWrite = 0o002;
const sticky = 0o1000;

/**
 * Pure: why another user could change what `path` holds, or undefined when only `uid` (herd's
 * user) or root can. `holdsSpec` is the spec's own folder: other users may not add files there
 * even with the sticky bit (a missing herd.lock or a file the spec copies would be theirs to
 * make); a folder above it may be shared with the sticky bit, as /tmp is.
 */
export function ownershipProblem(
  entry: PathOwnership,
  options: { uid: number; holdsSpec?: boolean },
): string | undefined {
  if (entry.uid !== options.uid && entry.uid !== 0) {
    return `${entry.path} is owned by uid ${entry.uid}: expected uid ${options.uid} (herd's user) or root`;
  }
  if ((entry.mode & otherWrite) === 0) return undefined;
  const mode = (entry.mode & 0o7777).toString(8).padStart(4, '0');
  if (entry.kind === 'file') return `${entry.path} is writable by every user (mode ${mode})`;
  if (options.holdsSpec) return `${entry.path} is a folder every user can write to (mode ${mode})`;
  if ((entry.mode & sticky) === 0) {
    return `${entry.path} is a folder every user can write to without the sticky bit (mode ${mode})`;
  }
  return undefined;
}

/**
 * Refuses a spec another local user could change: the file, the herd.lock beside it (when there
 * is one) and every folder from the spec's up to the root, symlinks resolved first.
 */
export async function assertSpecOwnership(
  loaded: Pick<LoadedSpec, 'path'>,
  options: { uid?: number } = {},
): Promise<void> {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const file = await realpath(loaded.path);
  const dir = dirname(file);
  const entries = [await ownershipOf(file), await ownershipOf(join(dir, 'herd.lock'))];
  for (let folder = dir; ; folder = dirname(folder)) {
    entries.push(await ownershipOf(folder));
    if (dirname(folder) === folder) break;
  }
  for (const entry of entries) {
    if (!entry) continue;
    const problem = ownershipProblem(entry, { uid, holdsSpec: entry.path === dir });
    if (problem) {
      throw new PipelineError(
        'SPEC_UNTRUSTED',
        `refusing the spec ${loaded.path}: ${problem}; another user could change what herd builds and signs`,
      );
    }
  }
}

async function ownershipOf(path: string): Promise<PathOwnership | undefined> {
  try {
    // stat, not lstat: a herd.lock that is a symlink is judged by the file it reads.
    const stats = await stat(path);
    return { path, kind: stats.isDirectory() ? 'folder' : 'file', mode: stats.mode, uid: stats.uid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
