/**
 * The memory engine's CPU accounting, for the autoscaler's tests and simulations: each running
 * instance burns a load (in CPUs) that a test sets, capped at the instance's CPU limit as a cgroup
 * caps it, and its cumulative CPU time grows with the engine's clock. Nothing runs: the time is the
 * integral of the load over the clock.
 */

interface Meter {
  /** CPUs the instance may use (its spec's nanoCpus / 1e9). */
  limit: number;
  /** CPUs it uses now. */
  load: number;
  /** CPU seconds used up to `since`. */
  used: number;
  /** Epoch ms the load last changed. */
  since: number;
  /** The process ended: no more CPU. */
  stopped: boolean;
}

export class MemoryCpu {
  private readonly meters = new Map<string, Meter>();

  constructor(private readonly now: () => number) {}

  started(id: string, nanoCpus: number): void {
    this.meters.set(id, { limit: nanoCpus / 1e9, load: 0, used: 0, since: this.now(), stopped: false });
  }

  /** The instance uses `cpus` from now on (0.5: half a CPU), at most its limit. */
  setLoad(id: string, cpus: number): void {
    const meter = this.settle(id);
    if (!meter || meter.stopped) return;
    meter.load = Math.max(0, Math.min(cpus, meter.limit));
  }

  /** Its process ended: the time used so far stays readable, no more is added. */
  stopped(id: string): void {
    const meter = this.settle(id);
    if (meter) meter.stopped = true;
  }

  gone(id: string): void {
    this.meters.delete(id);
  }

  /** CPU seconds used so far; undefined for an instance it never saw. */
  used(id: string): number | undefined {
    return this.settle(id)?.used;
  }

  private settle(id: string): Meter | undefined {
    const meter = this.meters.get(id);
    if (!meter) return undefined;
    const now = this.now();
    if (!meter.stopped) meter.used += (meter.load * (now - meter.since)) / 1000;
    meter.since = now;
    return meter;
  }
}
