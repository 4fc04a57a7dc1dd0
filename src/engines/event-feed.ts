/**
 * A fan-out of events to async-iterable subscribers. A subscriber gets what is emitted from the
 * moment it calls `subscribe` (not from its first `next()`), in order, until its signal aborts or
 * the feed fails (the engine's stream broke): then its loop throws, and it may subscribe again.
 */
export class EventFeed<T> {
  private readonly subscribers = new Set<{ deliver: (event: T) => void; fail: (error: Error) => void }>();

  emit(event: T): void {
    for (const subscriber of this.subscribers) subscriber.deliver(event);
  }

  /** Ends every subscription with `error` once what was delivered before has been handed out. */
  fail(error: Error): void {
    for (const subscriber of this.subscribers) subscriber.fail(error);
    this.subscribers.clear();
  }

  subscribe(signal: AbortSignal): AsyncIterable<T> {
    const queue: T[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const subscriber = {
      deliver: (event: T) => {
        queue.push(event);
        wake?.();
      },
      fail: (error: Error) => {
        failure = error;
        wake?.();
      },
    };
    const onAbort = () => {
      this.subscribers.delete(subscriber);
      wake?.();
    };
    // Registered now, so events emitted between subscribe() and the first next() are kept.
    if (!signal.aborted) {
      this.subscribers.add(subscriber);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return {
      async *[Symbol.asyncIterator]() {
        // What arrived before the abort is still handed out; nothing after it is.
        for (;;) {
          const event = queue.shift();
          if (event !== undefined) {
            yield event;
            continue;
          }
          if (signal.aborted) return;
          if (failure) throw failure;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
    };
  }
}
