/**
 * The writable paths of a running instance, read through the engine (`readPath`): tmpfs contents
 * that neither the diff nor the export sees. The workload may write there, but nothing it writes
 * may be executable (the tmpfs is noexec; an executable there is staged for somewhere else) and
 * no device node may appear.
 */
import { type Engine, EngineError } from '../engines/index.js';
import type { StreamEntry } from '../oci/index.js';
import type { DriftFinding } from './findings.js';
import { readEntries } from './read-entries.js';

/** Pure: whether one entry under writable `root` is drift, by its type and mode alone. */
export function judgeWritableEntry(
  entry: Pick<StreamEntry, 'path' | 'mode'> & { type: StreamEntry['type'] | 'socket' },
  root: string,
): string | undefined {
  if (entry.path === root) return undefined;
  switch (entry.type) {
    case 'file':
    case 'hardlink':
      if (entry.mode & 0o6000) return `setuid or setgid file in writable ${root}`;
      if (entry.mode & 0o111) return `executable in writable ${root}`;
      return undefined;
    case 'char':
    case 'block':
    case 'fifo':
    case 'unknown':
      return `${entry.type} node in writable ${root}`;
    case 'dir':
    case 'symlink':
    // A unix socket is how a workload's processes talk to each other; the archive leaves them out.
    case 'socket':
      return undefined;
    default:
      return assertNever(entry.type);
  }
}

export async function scanWritable(
  engine: Engine,
  id: string,
  options: { roots: readonly string[]; headBytes?: number; signal?: AbortSignal },
): Promise<DriftFinding[]> {
  const findings: DriftFinding[] = [];
  for (const root of options.roots) {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await engine.readPath(id, root, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      // A writable path the image never had and nothing created: nothing to judge.
      if (error instanceof EngineError && error.code === 'NOT_FOUND') continue;
      throw error;
    }
    // The archive names entries from the path's parent (`tmp/x` for /tmp).
    const parent = root.slice(0, root.lastIndexOf('/'));
    const judge = (entry: StreamEntry) =>
      judgeWritableEntry({ ...entry, path: `${parent}${entry.path}` }, root);
    await readEntries(
      stream as AsyncIterable<Buffer>,
      (entry, observed) => {
        const reason = judge(entry);
        if (reason) findings.push({ path: `${parent}${entry.path}`, change: 'added', reason, observed });
      },
      // Only what will be evidence is read; ordinary data in the tmpfs is skipped unread.
      { headBytes: options.headBytes ?? 0, hash: (entry) => judge(entry) !== undefined },
    );
  }
  return findings;
}

function assertNever(value: never): never {
  throw new Error(`unhandled entry type ${String(value)}`);
}
