/**
 * Temp files a killed herd left behind. herd writes every file through a temp name that carries
 * its pid (atomic-file.ts's `<name>.tmp-<pid>-<hex>`, the store's `.incoming-<pid>-<hex>`, the
 * fim baseline's `<name>.tmp-<pid>`) and removes it once renamed or failed; a process killed in
 * between (kill -9, the OOM killer, a power cut) leaves it for good. In the store that is up to a
 * layer's bytes, in the unpacked cache a whole package's tar, and every crash adds more.
 *
 * They are removed by whoever next writes there: only names of those shapes, only regular files,
 * and only when no live process has the pid, so a herd running at the same time keeps its own.
 */
import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const tempName = /^(?:.+\.tmp|\.incoming)-([1-9]\d{0,9})(?:-[0-9a-f]+)?$/;

/** The pid a temp file name of herd's carries, or undefined for any other name. */
export function tempFileWriter(name: string): number | undefined {
  const found = tempName.exec(name);
  return found ? Number(found[1]) : undefined;
}

export interface StaleTempFileOptions {
  /**
   * Only names that begin with this: for a folder herd shares with others (a baseline the user
   * placed), where only the temp files of herd's own file there are herd's to remove.
   */
  namePrefix?: string;
  /** Whether a pid is a live process; tests pass their own. */
  isAlive?: (pid: number) => boolean;
}

/**
 * Removes the temp files of processes that are gone from `dirs` (not their subfolders) and
 * returns their paths. A folder that does not exist is skipped; a file already gone is too.
 */
export async function removeStaleTempFiles(
  dirs: readonly string[],
  options: StaleTempFileOptions = {},
): Promise<string[]> {
  const { namePrefix = '', isAlive = processIsAlive } = options;
  const removed: string[] = [];
  for (const dir of dirs) {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix)) continue;
      const pid = tempFileWriter(entry.name);
      // isFile() is the entry itself, never a link's target: a planted link is left alone.
      if (pid === undefined || !entry.isFile() || isAlive(pid)) continue;
      const path = join(dir, entry.name);
      await rm(path, { force: true });
      removed.push(path);
    }
  }
  return removed;
}

/** Signal 0 checks without signalling: EPERM means the pid is someone else's live process. */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
