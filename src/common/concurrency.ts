/**
 * Bounded concurrency for work the event loop hands to other threads or processes (downloads,
 * decoders), where starting everything at once would only make every job finish late.
 */

/** Runs `fn` over `items` with at most `limit` in flight, keeping the input order in the result. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Runs `fn` when a place is free, and frees it when `fn` settles. */
export type ConcurrencyLimit = <R>(fn: () => Promise<R>) => Promise<R>;

/**
 * A gate that lets at most `limit` calls run at once; the others wait in the order they came. A
 * call that fails frees its place as one that succeeds does.
 */
export function concurrencyLimit(limit: number): ConcurrencyLimit {
  const most = Math.max(1, limit);
  let running = 0;
  const waiting: (() => void)[] = [];
  // A place that frees goes straight to the first waiter, never back to the pool: a call made
  // before that waiter resumes would otherwise take it too.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (fn) => {
    if (running < most) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
