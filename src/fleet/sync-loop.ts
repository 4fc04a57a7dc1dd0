/**
 * When the controller syncs: on every engine event and on a periodic resync (events can be lost), one
 * sync at a time, and requests that arrive during a sync coalesce into one more. A failed sync is
 * logged and retried at the next request; the loop itself never stops on an error.
 */
import type { Clock, Logger } from '../common/index.js';
import type { Engine } from '../engines/index.js';

export class SyncLoop {
  private tail: Promise<void> = Promise.resolve();
  private requested = false;
  private draining: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private cancelTimer: (() => void) | undefined;
  private cancelSoon: (() => void) | undefined;

  constructor(
    private readonly syncAll: () => Promise<void>,
    private readonly options: {
      engine: Engine;
      clock: Clock;
      resyncMs: number;
      log: Pick<Logger, 'info' | 'warn'>;
    },
  ) {}

  /** Runs `work` after every sync and exclusive call before it; the callers' own syncs go through here. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  start(): void {
    if (this.abort) return;
    const abort = new AbortController();
    this.abort = abort;
    void this.follow(abort.signal);
    this.scheduleResync();
    this.request();
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.cancelSoon?.();
    this.cancelSoon = undefined;
    await this.idle();
  }

  /**
   * Asks for a sync in `ms`, sooner than the resync (a starting instance's next quick check); one
   * such timer at a time, and a no-op unless started.
   */
  soon(ms: number): void {
    if (!this.abort || this.cancelSoon) return;
    this.cancelSoon = this.options.clock.setTimer(ms, () => {
      this.cancelSoon = undefined;
      this.request();
    });
  }

  /** Asks for a sync soon; a no-op unless started (tests drive `sync` themselves). */
  request(): void {
    if (!this.abort) return;
    this.requested = true;
    this.draining ??= this.drain();
  }

  idle(): Promise<void> {
    return (this.draining ?? Promise.resolve()).then(() => this.tail);
  }

  private async drain(): Promise<void> {
    while (this.requested) {
      this.requested = false;
      try {
        await this.exclusive(this.syncAll);
      } catch (error) {
        this.options.log.warn({ err: error }, 'fleet sync failed; retrying at the next resync');
      }
    }
    this.draining = undefined;
  }

  private scheduleResync(): void {
    this.cancelTimer = this.options.clock.setTimer(this.options.resyncMs, () => {
      if (!this.abort) return;
      this.request();
      this.scheduleResync();
    });
  }

  private async follow(signal: AbortSignal): Promise<void> {
    try {
      for await (const _event of this.options.engine.events(signal)) this.request();
    } catch (error) {
      if (!signal.aborted)
        this.options.log.warn({ err: error }, 'engine events ended; resyncing on the timer only');
    }
  }
}
