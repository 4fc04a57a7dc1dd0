/**
 * Files written whole or not at all: the bytes go to a temp file beside the target (same
 * directory, so same filesystem), which is then renamed or linked into place. Readers never see a
 * partial file, and a crash leaves at most a `<name>.tmp-<pid>-<random>` beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';

export interface AtomicWriteOptions {
  /**
   * Defaults to 0600, as everything in HERD_HOME is private; files written for the user elsewhere
   * (herd.lock, reports, exports) pass 0644 and get what the umask leaves of it.
   */
  mode?: number;
  /** fsync before the rename, for files that must survive a power cut, not just a crash. */
  sync?: boolean;
}

/** Replaces `path` with `data` through a temp file and rename(2). */
export async function writeAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeThroughTemp(path, async (temp) => {
    await writeWhole(temp, data, options);
    await rename(temp, path);
  });
}

/**
 * Chunks into `path` through a temp file: all of them, or nothing. Returns their size and sha256.
 * An array of chunks is written with one writev(2), so a caller can batch small pieces without
 * copying them into one large buffer.
 */
export async function writeChunksAtomic(
  path: string,
  chunks: AsyncIterable<Uint8Array | readonly Uint8Array[]>,
  options: AtomicWriteOptions = {},
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await writeThroughTemp(path, async (temp) => {
    const file = await open(temp, 'wx', options.mode ?? 0o600);
    try {
      for await (const chunk of chunks) {
        const pieces = chunk instanceof Uint8Array ? [chunk] : chunk;
        for (const piece of pieces) {
          hash.update(piece);
          size += piece.length;
        }
        await file.writev(pieces as Uint8Array[]);
      }
      if (options.sync) await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  });
  return { size, sha256: hash.digest('hex') };
}

/**
 * Creates `path` with `data` only if nothing is there: the temp file is link(2)ed into place, and
 * link fails when the target exists, so nothing is ever overwritten, even by a racing writer.
 * Returns false when `path` already existed (what that means is the caller's to say).
 */
export async function createExclusive(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<boolean> {
  let created = false;
  await writeThroughTemp(path, async (temp) => {
    await writeWhole(temp, data, options);
    try {
      await link(temp, path);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  });
  return created;
}

/** Runs `write` on a fresh temp name beside `path`; whatever is left under that name is removed. */
async function writeThroughTemp(path: string, write: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await write(temp);
  } finally {
    // After a rename there is nothing left; after a link or a failure, the temp name goes.
    await rm(temp, { force: true });
  }
}

async function writeWhole(
  temp: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<void> {
  const file = await open(temp, 'wx', options.mode ?? 0o600);
  try {
    await file.writeFile(data);
    if (options.sync) await file.sync();
  } finally {
    await file.close();
  }
}
