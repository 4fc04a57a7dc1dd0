/**
 * The scan: the walk's names described by the file pool, in batches, delivered in walk order. The
 * walk runs ahead by at most `batchesAhead` batches, which bounds memory and keeps every worker
 * busy; the consumer awaits once per batch, never once per entry.
 */
import type { DescribedBatch, WorkerFilePool } from './file-pool.js';
import { type NamedEntry, walkNames } from './walk.js';

/** Entries per batch: large enough that messages cost little, small enough to spread over the workers. */
const batchSize = 256;
/** Batches in flight: 8192 entries. */
const batchesAhead = 32;

export async function* scanTree(
  root: string,
  pool: WorkerFilePool,
  options: { crossMounts: boolean; hash: boolean },
): AsyncGenerator<DescribedBatch> {
  const inFlight: Promise<DescribedBatch>[] = [];
  const send = (batch: NamedEntry[]) => {
    const described = pool.describe(batch, { hash: options.hash });
    // Awaited in its turn below; this only stops a failure from being reported as unhandled before then.
    described.catch(() => {});
    inFlight.push(described);
  };
  let batch: NamedEntry[] = [];
  for (const named of walkNames(root, { crossMounts: options.crossMounts })) {
    batch.push(named);
    if (batch.length < batchSize) continue;
    send(batch);
    batch = [];
    if (inFlight.length >= batchesAhead) yield await inFlight.shift()!;
  }
  if (batch.length > 0) send(batch);
  while (inFlight.length > 0) yield await inFlight.shift()!;
}
