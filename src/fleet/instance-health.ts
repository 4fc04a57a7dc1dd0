/**
 * The controller's memory of each instance's checks: it probes the instances whose check is due and
 * turns what the engine lists into what the planner reads (`ObservedInstance`). Kept in memory only:
 * a restarted controller checks again from scratch, which can only make it more careful (an adopted
 * instance counts as available once it has passed again for minReadySeconds).
 */
import type { Instance } from '../engines/index.js';
import {
  checkDue,
  type HealthRecord,
  isStarting,
  recordCheck,
  startupWindowMs,
  uncheckedHealth,
} from './health-state.js';
import type { ObservedInstance } from './plan-rollout.js';
import type { FleetTemplate, HealthProber } from './types.js';

export class InstanceHealth {
  private readonly records = new Map<string, HealthRecord>();

  constructor(private readonly prober: HealthProber) {}

  /** Probes what is due, then describes every listed instance; forgets instances no longer listed. */
  async observe(
    instances: readonly Instance[],
    options: { template: FleetTemplate; now: number },
  ): Promise<ObservedInstance[]> {
    await this.probeDue(instances, options);
    this.forgetUnlisted(instances);
    return this.describe(instances, options.template);
  }

  /**
   * Drops the records of instances no longer listed. Most syncs have none to drop: when every
   * record belongs to a listed instance, no set of ids is built (100,000 instances in bench/scale).
   */
  private forgetUnlisted(instances: readonly Instance[]): void {
    let recorded = 0;
    for (const instance of instances) if (this.records.has(instance.id)) recorded++;
    if (recorded === this.records.size) return;
    const listed = new Set(instances.map((instance) => instance.id));
    for (const id of this.records.keys()) if (!listed.has(id)) this.records.delete(id);
  }

  private async probeDue(
    instances: readonly Instance[],
    options: { template: FleetTemplate; now: number },
  ): Promise<void> {
    const { template, now } = options;
    const health = template.run.health;
    if (!health) return;
    // Only the due ones get a promise: most instances are between checks at any sync.
    const due = instances.filter(
      (instance) =>
        instance.state === 'running' &&
        instance.address !== undefined &&
        checkDue(this.records.get(instance.id) ?? uncheckedHealth, {
          now,
          intervalSeconds: health.intervalSeconds,
        }),
    );
    await Promise.all(
      due.map(async (instance) => {
        if (!instance.address) return;
        const passed = await this.prober.check(instance.address, health);
        this.records.set(
          instance.id,
          recordCheck(this.records.get(instance.id) ?? uncheckedHealth, {
            passed,
            at: now,
            thresholds: {
              unreadyAfter: health.retries,
              failureThreshold: template.fleet.health.failureThreshold,
              startupWindowMs: startupWindowMs(health, template.fleet.health.failureThreshold),
            },
          }),
        );
      }),
    );
  }

  /**
   * Whether a running instance has yet to pass its first check: the controller then syncs again
   * within the startup pace instead of waiting for the next resync.
   */
  starting(instances: readonly Instance[], template: FleetTemplate): boolean {
    if (!template.run.health || template.port === undefined) return false;
    return instances.some((instance) => {
      const record = this.records.get(instance.id) ?? uncheckedHealth;
      return (
        instance.state === 'running' &&
        instance.address !== undefined &&
        !record.unhealthy &&
        isStarting(record)
      );
    });
  }

  /** What the planner reads, from the checks so far; probes nothing. */
  describe(instances: readonly Instance[], template: FleetTemplate): ObservedInstance[] {
    // Without a check (or a port to check on), running is all there is to know.
    const checked = template.run.health !== undefined && template.port !== undefined;
    // One literal of one shape per instance: every sync describes every instance (10,000 in
    // bench/controller), and the planner's hot paths stay fast on objects of a single shape.
    return instances.map((instance) => {
      const running = instance.state === 'running';
      const record = checked ? (this.records.get(instance.id) ?? uncheckedHealth) : undefined;
      return {
        id: instance.id,
        revision: instance.revision,
        state: instance.state,
        createdAt: instance.createdAt,
        node: instance.node,
        unhealthy: record?.unhealthy ?? false,
        readySince: !running
          ? undefined
          : record
            ? record.readySince
            : (instance.startedAt ?? instance.createdAt),
      };
    });
  }
}
