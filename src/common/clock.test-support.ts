import type { Clock } from './clock.js';

/**
 * A clock for unit tests and simulations: time moves only when `advance` says so, and timers due by
 * then run in order.
 */
export class FakeClock implements Clock {
  private timers: { at: number; run: () => void }[] = [];

  constructor(public ms = Date.UTC(2025, 0, 1)) {}

  now(): number {
    return this.ms;
  }

  setTimer(ms: number, run: () => void): () => void {
    const timer = { at: this.ms + ms, run };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((one) => one !== timer);
    };
  }

  advance(ms: number): void {
    this.ms += ms;
    const due = this.timers.filter((timer) => timer.at <= this.ms);
    this.timers = this.timers.filter((timer) => timer.at > this.ms);
    for (const timer of due) timer.run();
  }
}
