import { stat } from 'node:fs/promises';

/**
 * Whether `path` names something that can be read: links are followed, so a dangling one reads
 * as nothing there. Any error reads as nothing there too; a writer that must never replace a file
 * still relies on createExclusive, not on this check.
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
