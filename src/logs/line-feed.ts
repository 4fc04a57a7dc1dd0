/**
 * Fans new lines out to followers (`herd logs --follow`, the forwarders do not use it). A follower
 * that reads slower than lines arrive loses the oldest of its queue past `maxQueued`, so one stalled
 * HTTP client cannot grow the control plane's memory without bound.
 */
import type { StoredLogEntry } from './types.js';

interface Subscriber {
  accepts: (entry: StoredLogEntry) => boolean;
  queue: StoredLogEntry[];
  wake: (() => void) | undefined;
}

export class LineFeed {
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly maxQueued = 10_000) {}

  emit(entry: StoredLogEntry): void {
    for (const subscriber of this.subscribers) {
      if (!subscriber.accepts(entry)) continue;
      subscriber.queue.push(entry);
      if (subscriber.queue.length > this.maxQueued) subscriber.queue.shift();
      subscriber.wake?.();
    }
  }

  /** Registered at once, so nothing emitted between this call and the first `next()` is missed. */
  subscribe(signal: AbortSignal, accepts: (entry: StoredLogEntry) => boolean): AsyncIterable<StoredLogEntry> {
    const subscriber: Subscriber = { accepts, queue: [], wake: undefined };
    const onAbort = () => {
      this.subscribers.delete(subscriber);
      subscriber.wake?.();
    };
    if (!signal.aborted) {
      this.subscribers.add(subscriber);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            const entry = subscriber.queue.shift();
            if (entry !== undefined) {
              yield entry;
              continue;
            }
            if (signal.aborted) return;
            await new Promise<void>((resolve) => {
              subscriber.wake = resolve;
            });
            subscriber.wake = undefined;
          }
        } finally {
          signal.removeEventListener('abort', onAbort);
          onAbort();
        }
      },
    };
  }
}
