/**
 * The entries of one writable path of a running instance, metadata only, and what listing them
 * cost. The engine's own listing (`listPath`: DockerEngine walks the instance's root from the
 * host) costs per entry, whatever the files hold; where the engine cannot list so, the archive
 * (`readPath`) streams every byte under the path, and its cost is those bytes. Content is never
 * kept here: a file's first bytes are read by `lookAt`, once per new or changed file.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Engine, EngineError, type PathEntry } from '../engines/index.js';
import { firstFileHead, readHead } from '../oci/index.js';
import { readExportStream } from './export-stream.js';
import { sniffBytes } from './writable-content.js';

/**
 * A listed entry; through the archive, a regular file also carries the sha256 of its first bytes
 * (what a look judges). The archive has no inode or ctime, and size, mode and mtime are the
 * intruder's to keep: without it, data rewritten as a script of the same size, with its mtime put
 * back, would never be looked at again. The bytes are streamed anyway.
 */
export type ListedEntry = PathEntry & { headDigest?: string };

export interface WritableListing {
  entries: ListedEntry[];
  /** Bytes against the instance's budget: an entry listed by the engine counts as `entryCostBytes`. */
  costBytes: number;
  via: 'engine' | 'archive';
}

/** What one listed entry is charged, in the budget's currency: about a tar header and a stat call. */
export const entryCostBytes = 1024;

export async function listWritable(
  engine: Engine,
  id: string,
  options: { root: string; maxEntries: number; signal?: AbortSignal },
): Promise<WritableListing> {
  const { root, maxEntries, signal } = options;
  try {
    const listed = await engine.listPath?.(id, root, { maxEntries, ...(signal ? { signal } : {}) });
    if (listed) return { entries: listed, costBytes: listed.length * entryCostBytes, via: 'engine' };
    return await listByArchive(engine, id, options);
  } catch (error) {
    // A writable path the image never had and nothing created: nothing to judge.
    if (error instanceof EngineError && error.code === 'NOT_FOUND') {
      return { entries: [], costBytes: entryCostBytes, via: 'engine' };
    }
    throw error;
  }
}

async function listByArchive(
  engine: Engine,
  id: string,
  options: { root: string; maxEntries: number; signal?: AbortSignal },
): Promise<WritableListing> {
  const { root, maxEntries, signal } = options;
  const stream = await engine.readPath(id, root, signal ? { signal } : {});
  const counted = countBytes(stream as AsyncIterable<Buffer>);
  // The archive names entries from the path's parent (`tmp/x` for /tmp).
  const parent = root.slice(0, root.lastIndexOf('/'));
  const entries: ListedEntry[] = [];
  try {
    for await (const { entry, content } of readExportStream(counted.source)) {
      const headDigest = entry.type === 'file' ? await digestOfHead(content) : undefined;
      entries.push({
        path: `${parent}${entry.path}`,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.size,
        mtimeMs: (entry.mtime ?? 0) * 1000,
        ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
        ...(headDigest !== undefined ? { headDigest } : {}),
      });
      if (entries.length > maxEntries) break;
    }
  } finally {
    (stream as Readable).destroy?.();
  }
  return { entries, costBytes: counted.bytes(), via: 'archive' };
}

/**
 * A file's first `bytes` through the archive (resolved inside the instance by the engine, so a
 * symlink cannot point the read at the host), and what the look cost. `head` is undefined when
 * the path is no longer a regular file. The rest of the file is never fetched: the stream is cut.
 */
export async function lookAt(
  engine: Engine,
  id: string,
  options: { path: string; bytes: number; signal?: AbortSignal },
): Promise<{ head: Buffer | undefined; costBytes: number }> {
  const stream = await engine.readPath(id, options.path, options.signal ? { signal: options.signal } : {});
  const counted = countBytes(stream as AsyncIterable<Buffer>);
  try {
    const head = await firstFileHead(readExportStream(counted.source), options.bytes);
    return { head, costBytes: counted.bytes() };
  } finally {
    (stream as Readable).destroy?.();
  }
}

/** The sha256 of a file's first `sniffBytes`; the rest is left for the reader to skip. */
async function digestOfHead(content: AsyncIterable<Buffer>): Promise<string> {
  return createHash('sha256')
    .update(await readHead(content, sniffBytes))
    .digest('hex');
}

function countBytes(stream: AsyncIterable<Buffer>): { source: AsyncIterable<Buffer>; bytes: () => number } {
  let bytes = 0;
  return {
    source: (async function* () {
      for await (const chunk of stream) {
        bytes += chunk.length;
        yield chunk;
      }
    })(),
    bytes: () => bytes,
  };
}
