/**
 * Follows the stdout and stderr of every herd instance and hands each line, labelled with service,
 * instance and revision, to the store and the forwarders. One follower per instance id. It finds
 * instances on `started` events and on a periodic resync of `engine.list()` (events can be lost).
 *
 * Nothing is lost or stored twice: a follower starts at the instance's resume point (the newest
 * stored time, and the lines stored at exactly that time, which it skips once each). An exit or a
 * crash is not a reason to stop reading: the engine's stream ends after the last line, and only
 * then does the follower let go. Stopping the collector is the only thing that cuts a read short.
 */
import { setMaxListeners } from 'node:events';
import { backgroundClock, type Clock, type Logger, silentLogger } from '../common/index.js';
import type { Engine, Instance, LogLine } from '../engines/index.js';
import { resumeKey } from './segment-summary.js';
import type { LogEntry, LogSink, LogStore, ResumePoint } from './types.js';

export interface LogCollectorOptions {
  engine: Engine;
  /** Where lines are stored, and where a follower's resume point comes from. */
  store: LogStore;
  /** Forwarders (syslog, OTLP); they get every line the store gets. */
  forwarders?: readonly LogSink[];
  clock?: Clock;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** Default 2000 ms, as the fleet controller's. */
  resyncMs?: number;
}

export class LogCollector {
  private readonly clock: Clock;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly sinks: readonly LogSink[];
  private readonly followers = new Map<string, Promise<void>>();
  /** Exited instances whose output was read to the end: not followed again while they are listed. */
  private readonly drainedIds = new Set<string>();
  private abort: AbortController | undefined;
  private cancelTimer: (() => void) | undefined;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;

  constructor(private readonly options: LogCollectorOptions) {
    this.clock = options.clock ?? backgroundClock;
    this.log = options.log ?? silentLogger;
    this.sinks = [options.store, ...(options.forwarders ?? [])];
  }

  start(): void {
    if (this.abort) return;
    const abort = new AbortController();
    // Each followed instance hangs a listener (and its HTTP request one more) on this one signal
    // while its stream is open, and they go when it closes: a fleet of any size is legitimate, so
    // Node's leak warning at 11 listeners would only cry wolf.
    setMaxListeners(0, abort.signal);
    this.abort = abort;
    void this.followEvents(abort.signal);
    this.scheduleResync(abort.signal);
    this.requestResync();
  }

  /**
   * Cuts every read short and waits for the followers to let go; the sinks stay open (the caller's).
   * `graceMs` first gives followers that long to reach the end by themselves: instances just
   * removed are still being read.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (options.graceMs && this.followers.size > 0) {
      let cancel: (() => void) | undefined;
      const timeout = new Promise<void>((resolve) => {
        cancel = this.clock.setTimer(options.graceMs!, resolve);
      });
      await Promise.race([Promise.all(this.followers.values()), timeout]);
      cancel?.();
    }
    this.abort?.abort();
    this.abort = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.resyncing;
    await Promise.all(this.followers.values());
  }

  /** Ids being followed now. */
  following(): string[] {
    return [...this.followers.keys()];
  }

  /** Resolves when the instance's follower has let go (read to the end, or stopped). */
  async drained(id: string): Promise<void> {
    await this.followers.get(id);
  }

  /** Resolves once no resync is running or asked for. */
  async idle(): Promise<void> {
    while (this.resyncing) await this.resyncing;
  }

  /** Asks for a resync soon; requests during one coalesce into one more. */
  requestResync(): void {
    if (!this.abort) return;
    if (this.resyncing) {
      this.resyncAgain = true;
      return;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        try {
          await this.resync();
        } catch (error) {
          this.log.warn({ error: String(error) }, 'log collector resync failed; retrying at the next one');
        }
      } while (this.resyncAgain && this.abort);
      this.resyncing = undefined;
    })();
  }

  private async resync(): Promise<void> {
    const signal = this.abort?.signal;
    if (!signal) return;
    const instances = await this.options.engine.list();
    const listed = new Set(instances.map((i) => i.id));
    for (const id of this.drainedIds) if (!listed.has(id)) this.drainedIds.delete(id);
    for (const instance of instances) {
      if (signal.aborted) return;
      if (this.followers.has(instance.id)) continue;
      // A running instance whose stream ended (the engine's connection broke) is followed again.
      const live = instance.state === 'running' || instance.state === 'created';
      if (live || !this.drainedIds.has(instance.id)) this.follow(instance, signal);
    }
  }

  private follow(instance: Instance, signal: AbortSignal): void {
    const follower = this.read(instance, signal)
      .then(
        () => {
          if (!signal.aborted) this.drainedIds.add(instance.id);
        },
        (error) => {
          if (!signal.aborted) {
            this.log.warn(
              { instance: instance.id, service: instance.service, error: String(error) },
              'log follower failed; following again at the next resync',
            );
          }
        },
      )
      .finally(() => this.followers.delete(instance.id));
    this.followers.set(instance.id, follower);
  }

  private async read(instance: Instance, signal: AbortSignal): Promise<void> {
    const point = this.options.store.resumePoint(instance.id);
    const skip = new ResumeFilter(point);
    const lines = this.options.engine.followLogs(instance.id, {
      ...(point ? { since: point.time } : {}),
      signal,
    });
    for await (const line of lines) {
      if (skip.alreadyStored(line)) continue;
      const entry: LogEntry = {
        service: instance.service,
        instance: instance.id,
        revision: instance.revision,
        stream: line.stream,
        time: line.time,
        text: line.text,
      };
      for (const sink of this.sinks) sink.write([entry]);
    }
  }

  private async followEvents(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        for await (const event of this.options.engine.events(signal)) {
          if (event.kind === 'started') this.requestResync();
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn(
          { error: String(error) },
          'engine events ended; the log collector resyncs on the timer',
        );
        // The timer keeps finding instances; subscribing again at once could spin on a dead engine.
        await new Promise<void>((resolve) => this.clock.setTimer(this.options.resyncMs ?? 2000, resolve));
        if (signal.aborted) return;
      }
    }
  }

  private scheduleResync(signal: AbortSignal): void {
    this.cancelTimer = this.clock.setTimer(this.options.resyncMs ?? 2000, () => {
      if (signal.aborted) return;
      this.requestResync();
      this.scheduleResync(signal);
    });
  }
}

/**
 * Engines resume at a timestamp, inclusive: lines older than the resume point were stored, and
 * those at exactly its time were stored if they are among `atTime` (each match is used once, so
 * two equal lines in the same millisecond are both kept when only one was stored).
 */
export class ResumeFilter {
  private readonly seen = new Map<string, number>();

  constructor(private readonly point: ResumePoint | undefined) {
    for (const key of point?.atTime ?? []) this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  }

  alreadyStored(line: LogLine): boolean {
    if (!this.point) return false;
    if (line.time < this.point.time) return true;
    if (line.time > this.point.time) return false;
    const key = resumeKey(line);
    const count = this.seen.get(key) ?? 0;
    if (count === 0) return false;
    this.seen.set(key, count - 1);
    return true;
  }
}
