/**
 * Results computed out of order (hashes finish when they finish) but delivered in order, with at
 * most `limit` in flight: what keeps the output sorted and the memory bounded while every core
 * hashes.
 */
export class OrderedWindow<T> {
  readonly #pending: Promise<T>[] = [];
  #head = 0;
  readonly #limit: number;
  readonly #deliver: (value: T) => void | Promise<void>;

  constructor(limit: number, deliver: (value: T) => void | Promise<void>) {
    this.#limit = limit;
    this.#deliver = deliver;
  }

  /** Queues a result; waits for the oldest ones to be delivered while the window is full. */
  async push(value: Promise<T>): Promise<void> {
    // Rejections surface when the value is delivered, in order; this only stops the runtime from
    // reporting them as unhandled meanwhile.
    value.catch(() => {});
    this.#pending.push(value);
    while (this.#pending.length - this.#head > this.#limit) await this.#deliverOne();
  }

  /** Delivers everything still queued. */
  async flush(): Promise<void> {
    while (this.#head < this.#pending.length) await this.#deliverOne();
  }

  async #deliverOne(): Promise<void> {
    const value = await this.#pending[this.#head]!;
    this.#head++;
    if (this.#head > 4096) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
    await this.#deliver(value);
  }
}
