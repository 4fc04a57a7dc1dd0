/**
 * A regular file's bytes in the image tree: held (what herd writes itself, the app's files, a
 * base's files), or stored, a range of a package's unpacked data.tar on disk. Stored bytes are
 * read only when something needs them (a layer, the entrypoint check, a copyright file) and are
 * checked against the sha256 taken when the package was read, every time: a tar changed on disk
 * since is refused (CACHE_TAMPERED), never put in an image.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { BuildError } from './errors.js';

/**
 * A tar swapped for a FIFO since it was checked would block the build (a synchronous open, for
 * `fileBytes`, blocks the whole process), a link to /dev/zero never end: only a regular file is read.
 */
const storedFlags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Where a file's bytes are: `size` bytes at `offset` of `file`, whose sha256 (hex) is `sha256`. */
export interface StoredBytes {
  file: string;
  offset: number;
  size: number;
  sha256: string;
}

/** What a file node carries of its bytes. */
export interface FileBytesSource {
  path: string;
  data?: Buffer;
  stored?: StoredBytes;
}

export function fileSize(node: FileBytesSource): number {
  return node.data?.length ?? node.stored?.size ?? 0;
}

/** The bytes' sha256 (hex): recorded for stored bytes, computed for held ones. */
export function fileSha256(node: FileBytesSource): string {
  if (node.stored) return node.stored.sha256;
  return createHash('sha256')
    .update(node.data ?? emptyBytes)
    .digest('hex');
}

const emptyBytes = Buffer.alloc(0);

/** The whole file in memory, for the few files herd reads (text, ELF headers); stored bytes are checked. */
export function fileBytes(node: FileBytesSource): Buffer {
  const { stored } = node;
  if (!stored) return node.data ?? emptyBytes;
  const bytes = Buffer.allocUnsafe(stored.size);
  readStored(node, stored, bytes, 0);
  checkHash(node, stored, createHash('sha256').update(bytes).digest('hex'));
  return bytes;
}

/** Fills `into` with the file's bytes from `from` on; a file that ends early has shrunk on disk. */
function readStored(node: FileBytesSource, stored: StoredBytes, into: Buffer, from: number): void {
  let fd: number;
  try {
    fd = openSync(stored.file, storedFlags);
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new Error('it is not a regular file');
    }
  } catch (error) {
    throw unreadable(node, stored, error);
  }
  try {
    for (let have = 0; have < into.length; ) {
      const got = readSync(fd, into, have, into.length - have, stored.offset + from + have);
      if (got === 0) throw shrunk(node, stored);
      have += got;
    }
  } finally {
    closeSync(fd);
  }
}

/** Bytes a view reads from disk at a time. */
const pageSize = 16 * 1024;

/**
 * Random access to a file's bytes, for reading a few fields of a large file (an ELF library's
 * headers and dynamic section): stored bytes are read by the page as they are asked for, never
 * whole, and so are not checked against the sha256. What goes into the image is: every byte is
 * checked as its layer is written, so a tar changed on disk fails the build there.
 */
export function fileView(node: FileBytesSource): {
  length: number;
  slice(start: number, end: number): Buffer;
} {
  const { stored } = node;
  if (!stored) {
    const data = node.data ?? emptyBytes;
    return { length: data.length, slice: (start, end) => data.subarray(start, end) };
  }
  const pages = new Map<number, Buffer>();
  const page = (index: number): Buffer => {
    const cached = pages.get(index);
    if (cached) return cached;
    const start = index * pageSize;
    const bytes = Buffer.alloc(Math.min(pageSize, stored.size - start));
    readStored(node, stored, bytes, start);
    pages.set(index, bytes);
    return bytes;
  };
  return {
    length: stored.size,
    slice(start, end) {
      const from = Math.max(0, Math.min(start, stored.size));
      const to = Math.max(from, Math.min(end, stored.size));
      const parts: Buffer[] = [];
      for (let at = from; at < to; ) {
        const index = Math.floor(at / pageSize);
        const bytes = page(index);
        const offset = at - index * pageSize;
        const part = bytes.subarray(offset, Math.min(bytes.length, offset + to - at));
        parts.push(part);
        at += part.length;
      }
      return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    },
  };
}

/** Bytes read from disk at a time: large enough for few reads, small enough to hold several. */
const readSize = 256 * 1024;

/** The file's bytes chunk by chunk (fresh buffers), checked against the recorded sha256 at the end. */
export async function* fileChunks(node: FileBytesSource): AsyncGenerator<Buffer> {
  const { stored } = node;
  if (!stored) {
    if (node.data && node.data.length > 0) yield node.data;
    return;
  }
  const hash = createHash('sha256');
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(stored.file, storedFlags);
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new Error('it is not a regular file');
    }
  } catch (error) {
    throw unreadable(node, stored, error);
  }
  try {
    let have = 0;
    while (have < stored.size) {
      const want = Math.min(readSize, stored.size - have);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, stored.offset + have);
      if (bytesRead === 0) throw shrunk(node, stored);
      have += bytesRead;
      const part = bytesRead === want ? chunk : chunk.subarray(0, bytesRead);
      hash.update(part);
      // The last chunk is held back until the hash is checked: bytes that fail it go nowhere.
      if (have < stored.size) yield part;
      else {
        checkHash(node, stored, hash.digest('hex'));
        yield part;
      }
    }
  } finally {
    await handle.close();
  }
}

function checkHash(node: FileBytesSource, stored: StoredBytes, actual: string): void {
  if (actual === stored.sha256) return;
  throw new BuildError(
    'CACHE_TAMPERED',
    `/${node.path}: its bytes in ${stored.file} (offset ${stored.offset}) changed after herd read the package: got sha256:${actual}, expected sha256:${stored.sha256}; delete the file to unpack the package again`,
  );
}

function shrunk(node: FileBytesSource, stored: StoredBytes): BuildError {
  return new BuildError(
    'CACHE_TAMPERED',
    `/${node.path}: ${stored.file} ends before offset ${stored.offset + stored.size}, where its bytes should end; delete the file to unpack the package again`,
  );
}

function unreadable(node: FileBytesSource, stored: StoredBytes, error: unknown): BuildError {
  return new BuildError(
    'CACHE_TAMPERED',
    `/${node.path}: ${stored.file}, which holds its bytes, cannot be read (${(error as Error).message})`,
    { cause: error },
  );
}
