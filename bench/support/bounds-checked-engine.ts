/**
 * The MemoryEngine with the rollout bounds checked at every create and every removal the controller
 * asks for, as they happen (bench/controller, bench/scale). The bench keeps its own count of each
 * fleet's live instances (running, not exited) and of when each first passed a health check, so the
 * check needs no list and does not trust the controller's own view:
 * - after a create, a fleet has at most size + maxSurge live instances;
 * - a removal of an available instance (ready for minReadySeconds) leaves at least
 *   size − maxUnavailable available.
 * Crashes, kills and a lost node are not the controller's doing, so they are never violations; but
 * the controller must not remove an available instance while a fleet is below its floor because of
 * them. The limits come from src/fleet's rollout-arithmetic.ts, the fenceposts the planner obeys.
 */
import type { Instance, InstanceSpec } from '../../src/engines/index.js';
import { MemoryEngine, type MemoryEngineOptions } from '../../src/engines/memory/memory-engine.js';
import { resolveBounds } from '../../src/fleet/rollout-arithmetic.js';
import type { InstanceCount } from '../../src/specfile/index.js';

export interface BoundsCheckOptions {
  /** The size the bench last gave the fleet (rollout or scale). */
  sizeOf: (service: string) => number;
  strategy: { maxSurge: InstanceCount; maxUnavailable: InstanceCount; minReadySeconds: number };
  /** Called with every instance made, before the check. */
  onCreate?: (instance: Instance) => void;
}

export class BoundsCheckedEngine extends MemoryEngine {
  /** Each fleet's live instances, by id. */
  readonly alive = new Map<string, Map<string, Instance>>();
  /** What broke, one line each, naming the fleet and the counts. */
  readonly violations: string[] = [];
  /** When the prober first passed each instance (the bench's own `readySince`). */
  private readonly readySince = new Map<string, number>();
  private readonly serviceOf = new Map<string, string>();
  /** Each fleet's available count at one instant, kept through removals until the clock moves. */
  private readonly availableAt = new Map<string, { at: number; count: number }>();
  private readonly clockNow: () => number;

  constructor(
    engineOptions: MemoryEngineOptions & { now: () => number },
    private readonly check: BoundsCheckOptions,
  ) {
    super(engineOptions);
    this.clockNow = engineOptions.now;
  }

  /** The prober passed the instance: ready from now, available after minReadySeconds. */
  markReady(id: string): void {
    if (this.readySince.has(id)) return;
    this.readySince.set(id, this.clockNow());
    const service = this.serviceOf.get(id);
    if (service !== undefined) this.availableAt.delete(service);
  }

  isReady(id: string): boolean {
    return this.readySince.has(id);
  }

  isAvailable(id: string): boolean {
    const since = this.readySince.get(id);
    return since !== undefined && this.clockNow() - since >= this.check.strategy.minReadySeconds * 1000;
  }

  liveOf(service: string): Map<string, Instance> {
    let live = this.alive.get(service);
    if (!live) {
      live = new Map();
      this.alive.set(service, live);
    }
    return live;
  }

  liveTotal(): number {
    let total = 0;
    for (const live of this.alive.values()) total += live.size;
    return total;
  }

  override async create(spec: InstanceSpec): Promise<Instance> {
    const instance = await super.create(spec);
    this.check.onCreate?.(instance);
    if (instance.state !== 'running') return instance;
    this.serviceOf.set(instance.id, spec.service);
    const live = this.liveOf(spec.service);
    live.set(instance.id, instance);
    const bounds = resolveBounds(this.check.sizeOf(spec.service), this.check.strategy);
    if (live.size > bounds.maxTotal)
      this.violations.push(
        `${spec.service}: ${live.size} instances after a create, above size + surge ${bounds.maxTotal}`,
      );
    return instance;
  }

  override async remove(id: string): Promise<void> {
    const service = this.serviceOf.get(id);
    if (service !== undefined && this.alive.get(service)?.has(id) && this.isAvailable(id)) {
      const bounds = resolveBounds(this.check.sizeOf(service), this.check.strategy);
      const left = this.availableCount(service) - 1;
      if (left < bounds.minAvailable)
        this.violations.push(
          `${service}: removing ${id} left ${left} available, below size − unavailable ${bounds.minAvailable}`,
        );
    }
    return super.remove(id);
  }

  override crash(id: string, exitCode: number): void {
    this.forget(id);
    super.crash(id, exitCode);
  }

  override kill(id: string): void {
    this.forget(id);
    super.kill(id);
    this.readySince.delete(id);
    this.serviceOf.delete(id);
  }

  /** The fleet's available instances now; counted once per instant, then kept by `forget`. */
  private availableCount(service: string): number {
    const now = this.clockNow();
    const known = this.availableAt.get(service);
    if (known?.at === now) return known.count;
    let count = 0;
    for (const id of this.alive.get(service)?.keys() ?? []) if (this.isAvailable(id)) count++;
    this.availableAt.set(service, { at: now, count });
    return count;
  }

  /** The instance is no longer live (exited, removed, its node lost). */
  private forget(id: string): void {
    const service = this.serviceOf.get(id);
    if (service === undefined || !this.alive.get(service)?.delete(id)) return;
    const known = this.availableAt.get(service);
    if (known?.at === this.clockNow() && this.isAvailable(id)) known.count--;
  }
}
