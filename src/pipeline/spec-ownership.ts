/**
 * Who may change a spec the control plane reads unattended. The remediation loop reads a
 * registered herd.yaml again at every check, builds what it says and signs the image with herd's
 * key, and replaces the herd.lock beside it when production runs the new image. So the spec, its
 * lock and every folder above them must be changeable only by herd's own user (or root), as ssh's
 * StrictModes asks of authorized_keys: another user who could edit or swap the spec would get
 * herd's key to sign an image of their choosing.
 */
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
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
 * is one), the keyrings its repositories trust and the app files it copies, and every folder from
 * each of them up to the root, symlinks resolved first.
 */
export async function assertSpecOwnership(
  loaded: Pick<LoadedSpec, 'path' | 'dir' | 'spec'>,
  options: { uid?: number } = {},
): Promise<void> {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const file = await realpath(loaded.path);
  const dir = dirname(file);
  const named = [join(dir, 'herd.lock'), ...pathsTheSpecNames(loaded)];
  const judged = new Map<string, PathOwnership>();
  for (const path of [file, ...named]) {
    const real = await realpath(path).catch(() => undefined);
    // A file the spec names that is missing fails the lock or the build, which say so.
    if (!real) continue;
    for (let at = real; ; at = dirname(at)) {
      if (!judged.has(at)) {
        const entry = await ownershipOf(at);
        if (entry) judged.set(at, entry);
      }
      if (dirname(at) === at) break;
    }
  }
  for (const entry of judged.values()) {
    const problem = ownershipProblem(entry, { uid, holdsSpec: entry.path === dir });
    if (problem) {
      throw new PipelineError(
        'SPEC_UNTRUSTED',
        `refusing the spec ${loaded.path}: ${problem}; another user could change what herd builds and signs`,
      );
    }
  }
}

/** Pure: the files a spec makes herd trust or copy, besides itself: repository keyrings, app files. */
export function pathsTheSpecNames(loaded: Pick<LoadedSpec, 'dir' | 'spec'>): string[] {
  const at = (path: string) => (isAbsolute(path) ? path : join(loaded.dir, path));
  return [
    ...(loaded.spec.image.repositories ?? []).map((repo) => at(repo.keyring)),
    ...loaded.spec.files.map((file) => at(file.src)),
  ];
}

async function ownershipOf(path: string): Promise<PathOwnership | undefined> {
  try {
    const stats = await stat(path);
    return { path, kind: stats.isDirectory() ? 'folder' : 'file', mode: stats.mode, uid: stats.uid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
