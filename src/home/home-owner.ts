/**
 * HERD_HOME must belong to the user herd runs as. Whoever owns a directory may rename, remove and
 * replace what is in it, whatever the modes of the files: another user who made HERD_HOME first
 * (a path under /tmp, a shared folder) could swap herd.db for one holding a token they know, put
 * a link where herd.db or a key will be written, or answer on control-plane.sock. Modes cannot fix
 * that, so herd refuses such a home before it writes anything, as ssh refuses a key file others
 * could write.
 */
import { stat } from 'node:fs/promises';
import { HomeError } from './errors.js';

/** Why a home with this owner may not be used by `uid`, or undefined when it may. */
export function homeOwnerProblem(root: string, owner: number, uid: number): string | undefined {
  if (owner === uid) return undefined;
  return `HERD_HOME ${root} belongs to uid ${owner}, and herd runs as uid ${uid}: the owner of a folder can replace what herd writes in it; expected a HERD_HOME of your own`;
}

/** Throws HOME_NOT_OWNED unless HERD_HOME (followed if a link) is the current user's; a missing one is fine. */
export async function checkHomeOwner(root: string): Promise<void> {
  const uid = process.geteuid?.();
  if (uid === undefined) return;
  const info = await stat(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return;
  const problem = homeOwnerProblem(root, info.uid, uid);
  if (problem) throw new HomeError('HOME_NOT_OWNED', problem);
}
