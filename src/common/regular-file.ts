/**
 * Opening a file that herd wrote itself (a cache entry, a blob) without trusting what is at its
 * path now. Whoever can write the cache can put a FIFO there (a read that never ends or never
 * starts), a socket, a device node or a link to /dev/zero (endless bytes): herd writes only
 * regular files, by rename, so anything else is refused before a byte is read. O_NOFOLLOW refuses
 * a link as the last component; O_NONBLOCK makes opening a FIFO with no writer return at once, so
 * fstat can say what it is.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

export type RegularFileOpen =
  | { kind: 'file'; handle: FileHandle; size: number }
  | { kind: 'missing' }
  /** Something herd never writes; `what` says which, e.g. "a FIFO", for messages. */
  | { kind: 'not-regular'; what: string };

const readFlags = constants.O_RDONLY | constants.O_NONBLOCK;

export interface RegularFileOptions {
  /**
   * Follow a symbolic link to the file it names (still refusing a link to anything but a regular
   * file): for files herd did not write, such as a `file:` repository's, where links are usual.
   */
  followLinks?: boolean;
}

/**
 * The file at `path` opened for reading if it is a regular file. Nothing there (or a parent that is
 * not a directory) is `missing`; any other error (EACCES, EIO) is thrown, for the caller to name.
 * The caller closes the handle.
 */
export async function openRegularFile(
  path: string,
  options: RegularFileOptions = {},
): Promise<RegularFileOpen> {
  let handle: FileHandle;
  try {
    handle = await open(path, options.followLinks ? readFlags : readFlags | constants.O_NOFOLLOW);
  } catch (error) {
    switch ((error as NodeJS.ErrnoException).code) {
      case 'ENOENT':
      case 'ENOTDIR':
        return { kind: 'missing' };
      case 'ELOOP':
        return { kind: 'not-regular', what: 'a symbolic link' };
      // open(2) of a Unix socket.
      case 'ENXIO':
      case 'EOPNOTSUPP':
        return { kind: 'not-regular', what: 'a socket' };
      default:
        throw error;
    }
  }
  try {
    const stats = await handle.stat();
    if (stats.isFile()) return { kind: 'file', handle, size: stats.size };
    await handle.close();
    return { kind: 'not-regular', what: describeKind(stats) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A regular file's bytes, read whole, unless it is larger than `maxBytes` (a swapped-in huge file
 * is not read): then `too-large` with its size.
 */
export async function readRegularFile(
  path: string,
  options: { maxBytes: number } & RegularFileOptions,
): Promise<
  | { kind: 'file'; bytes: Buffer }
  | { kind: 'too-large'; size: number }
  | Exclude<RegularFileOpen, { kind: 'file' }>
> {
  const opened = await openRegularFile(path, options);
  if (opened.kind !== 'file') return opened;
  try {
    if (opened.size > options.maxBytes) return { kind: 'too-large', size: opened.size };
    return { kind: 'file', bytes: await opened.handle.readFile() };
  } finally {
    await opened.handle.close();
  }
}

function describeKind(stats: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'something other than a file';
}
