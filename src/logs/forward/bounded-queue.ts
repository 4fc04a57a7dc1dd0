/**
 * What a forwarder holds while its target is slow or away. It is bounded: past `max`, the oldest
 * items go and are counted, because forwarding must never grow the control plane's memory or hold
 * up the collector. The store keeps every line regardless.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  dropped = 0;

  constructor(private readonly max: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.max) {
      this.items.shift();
      this.dropped++;
    }
  }

  /** Puts items back at the front (a batch that failed), still within the bound. */
  unshift(items: readonly T[]): void {
    this.items = [...items, ...this.items];
    const over = this.items.length - this.max;
    if (over > 0) {
      this.items.splice(0, over);
      this.dropped += over;
    }
  }

  take(count: number): T[] {
    return this.items.splice(0, count);
  }

  get length(): number {
    return this.items.length;
  }
}
