/**
 * A path of an instance on a tmpfs, as a tar, read from the host. Docker's archive API reads the
 * container's root filesystem and not the tmpfs mounted over it, so on a Docker node `readPath`
 * of a writable path would answer an empty directory: a file dropped there would be invisible.
 * When herd runs on the node's host it lists the path through /proc/<pid>/root (the listing that
 * `listPath` makes, which follows no symlink and stays on the mount) and reads each regular file
 * with O_NOFOLLOW; names are archived as Docker names them, from the path's last component.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { type TarEntry, writeTar } from '../../oci/index.js';
import type { PathEntry } from '../engine.js';

/** What one file may add to the archive; the integrity monitor caps what it reads anyway. */
const maxFileBytes = 64 * 1024 * 1024;

export async function hostPathArchive(
  pid: number,
  path: string,
  listed: readonly PathEntry[],
): Promise<Readable> {
  const base = posix.dirname(path);
  const entries: TarEntry[] = [];
  for (const entry of listed) {
    const name = posix.relative(base, entry.path);
    const common = {
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: Math.floor(entry.mtimeMs / 1000),
    };
    if (entry.type === 'dir') entries.push({ path: `${name}/`, type: 'dir', size: 0, ...common });
    else if (entry.type === 'symlink')
      entries.push({ path: name, type: 'symlink', size: 0, linkname: entry.linkname ?? '', ...common });
    else if (entry.type === 'file') {
      const data = await readNoFollow(`/proc/${pid}/root${entry.path}`, Math.min(entry.size, maxFileBytes));
      if (data) entries.push({ path: name, type: 'file', size: data.length, data, ...common });
    }
  }
  return Readable.from([writeTar(entries)]);
}

async function readNoFollow(file: string, size: number): Promise<Buffer | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await handle.read(buffer, 0, size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
