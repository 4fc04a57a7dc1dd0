/**
 * Results computed out of order (hashes finish when they finish) but delivered in order, with at
 * most `limit` in flight: what keeps the output sorted and the memory bounded while every core
 * hashes.
 *
 * Most entries of a check are known at once (a directory, a link, a file whose hash is reused), so
 * a value may be given as it is: it is delivered on the spot when nothing is waiting ahead of it,
 * and `push` then returns `undefined` rather than a promise, so a caller that awaits only what is
 * returned pays nothing per entry.
 */
export class OrderedWindow<T> {
  #queue: (T | Waiting<T>)[] = [];
  #head = 0;
  readonly #limit: number;
  readonly #deliver: (value: T) => undefined | Promise<void>;

  constructor(limit: number, deliver: (value: T) => undefined | Promise<void>) {
    this.#limit = limit;
    this.#deliver = deliver;
  }

  /**
   * Queues a result and delivers what is ready at the head. Returns a promise only when the caller
   * must wait: the window is full, or a delivery is itself asynchronous.
   */
  push(value: T | Promise<T>): Promise<void> | undefined {
    this.#queue.push(value instanceof Promise ? new Waiting(value) : value);
    return this.#drain(this.#limit);
  }

  /** Delivers everything still queued. */
  async flush(): Promise<void> {
    await this.#drain(0);
  }

  /** Delivers settled results from the head; waits for the head only while more than `keep` are queued. */
  #drain(keep: number): Promise<void> | undefined {
    while (this.#head < this.#queue.length) {
      const item = this.#queue[this.#head]!;
      if (item instanceof Waiting && item.state !== 'done') {
        // A failed head surfaces in order, from the async path, as the rejection of this push.
        if (item.state === 'pending' && this.#queue.length - this.#head <= keep) return undefined;
        return item.promise.then(() => this.#drain(keep));
      }
      this.#head++;
      if (this.#head > 4096) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      const delivered = this.#deliver(item instanceof Waiting ? item.value! : item);
      if (delivered) return delivered.then(() => this.#drain(keep));
    }
    return undefined;
  }
}

/** A result still being computed; it records its own outcome so the head can be read without awaiting. */
class Waiting<T> {
  state: 'pending' | 'done' | 'failed' = 'pending';
  value: T | undefined;
  readonly promise: Promise<T>;

  constructor(promise: Promise<T>) {
    this.promise = promise;
    // The rejection surfaces when this result's turn comes; marking it handled here only stops the
    // runtime from reporting it as unhandled meanwhile.
    promise.then(
      (value) => {
        this.value = value;
        this.state = 'done';
      },
      () => {
        this.state = 'failed';
      },
    );
  }
}
