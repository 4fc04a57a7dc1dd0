/**
 * The autoscaler wired into the controller: once per `fleet.autoscale.syncPeriodSeconds` (15 s, as
 * HPA's sync period) for a fleet whose template has `fleet.autoscale`, it reads the engine's CPU
 * stats and the front door's counters (autoscale-metrics.ts), asks the pure decision
 * (autoscale.ts, `decideScale`), keeps the HPA history in memory, and saves a changed size as
 * `herd scale` does; the plan then makes or removes instances like any change of size.
 *
 * Journaled (FleetEvent `autoscaled`, with every input): each decision that changes the size, and
 * each that starts to hold the size for a reason HPA states as a condition (a scale-down held by
 * the stabilization window, a rate or min/max limit, unreadable metrics, scaling disabled at 0),
 * once when it starts, not at every period. Quiet decisions (within tolerance) only reach
 * `herd status`, as the last decision.
 *
 * A restarted control plane starts with the fleet's current size as its one recommendation, as HPA
 * does, so it never scales down at once; its first period only takes the readings the next one
 * measures from.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../common/index.js';
import type { Engine, Instance, InstanceStats } from '../engines/index.js';
import type { AutoscaleSection } from '../specfile/index.js';
import { decideScale, type ScaleDecision, scaleApplied } from './autoscale.js';
import { type AutoscaleHistory, initialHistory } from './autoscale-behavior.js';
import {
  instanceSamples,
  type MetricReadings,
  type ReadinessSeen,
  readingsOf,
  trackReadiness,
} from './autoscale-metrics.js';
import type { StoredFleet } from './fleet-store.js';
import type { ObservedInstance } from './plan-rollout.js';
import type { FleetEvent, FleetTemplate, FrontDoorHook } from './types.js';

export interface AutoscaleParts {
  engine: Pick<Engine, 'stats'>;
  frontDoor?: Pick<FrontDoorHook, 'load'>;
  /** Writes the fleet's new size to herd.db, as `scale` does. */
  save(fleet: StoredFleet, now: number): void;
  emit(event: FleetEvent): Promise<void>;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** What `herd status` shows of a fleet's autoscaler. */
export interface AutoscaleStatus {
  min: number;
  max: number;
  /** The last decision, quiet ones included; absent before the first. */
  last?: Pick<ScaleDecision, 'at' | 'from' | 'to' | 'reason' | 'message'>;
}

interface FleetAutoscale {
  /** The readings of the last step, which the next one measures from, and when (controller clock). */
  readings: MetricReadings;
  readAt: number;
  readiness: ReadinessSeen;
  history: AutoscaleHistory;
  last?: ScaleDecision;
  /** The condition of the last decision journaled (see `conditionOf`). */
  journaled?: string;
}

export class FleetAutoscaler {
  private readonly fleets = new Map<string, FleetAutoscale>();

  constructor(private readonly parts: AutoscaleParts) {}

  /**
   * One step for one fleet, within its sync: returns the fleet, with its new size when the
   * decision changed it (saved already). A fleet without `fleet.autoscale` is returned as it is.
   */
  async step(
    fleet: StoredFleet,
    observation: {
      instances: readonly Instance[];
      observed: readonly ObservedInstance[];
      now: number;
      /**
       * The instances the decision samples, when not all (autoscale-samples.ts: a blue-green
       * fleet's serving revision). Every instance is still read, so a fleet that starts serving at
       * a switch is measured from the reading before it, not unmeasured for a period.
       */
      sampled?: { instances: readonly Instance[]; observed: readonly ObservedInstance[] };
    },
  ): Promise<StoredFleet> {
    const autoscale = fleet.template.fleet.autoscale;
    if (!autoscale) {
      this.fleets.delete(fleet.service);
      return fleet;
    }
    const { instances, observed, now } = observation;
    let state = this.fleets.get(fleet.service);
    if (state && now - state.readAt < autoscale.syncPeriodSeconds * 1000) return fleet;

    const current = await this.read(fleet.service, autoscale, instances);
    if (!state) {
      state = {
        readings: current,
        // Fleets started together would all decide in the same sync: each is put at its own point
        // of the period (by its name), so the work spreads over the syncs, as HPA's queue spreads it.
        readAt: now - phaseOf(fleet.service, autoscale.syncPeriodSeconds * 1000),
        readiness: new Map(),
        history: initialHistory(fleet.size, now),
      };
      this.fleets.set(fleet.service, state);
    }
    const sampled = observation.sampled ?? { instances, observed };
    trackReadiness(state.readiness, sampled.instances, sampled.observed, now);
    // Nothing to measure from yet (the first period, or nothing was served or running then): the
    // readings are taken again. A size of 0, or one outside the bounds, is decided without metrics.
    const withoutMetrics = fleet.size === 0 || fleet.size < autoscale.min || fleet.size > autoscale.max;
    if (!withoutMetrics && (state.readings === current || !this.measurable(state.readings, autoscale))) {
      // The first reading keeps its place in the period; a later one starts the period again.
      if (state.readings !== current) state.readAt = now;
      state.readings = current;
      return fleet;
    }
    const samples = instanceSamples({
      instances: sampled.instances,
      observed: sampled.observed,
      readiness: state.readiness,
      previous: state.readings,
      current,
      now,
    });
    state.readings = current;
    state.readAt = now;
    const { decision, history } = decideScale(autoscale, {
      size: fleet.size,
      instances: samples,
      cpuLimit: fleet.template.fleet.resources.cpus,
      now,
      history: state.history,
    });
    state.history = history;
    state.last = decision;
    const condition = conditionOf(decision);
    if (decision.to !== decision.from) {
      const scaled = { ...fleet, size: decision.to };
      this.parts.save(scaled, now);
      state.history = scaleApplied(history, decision, autoscale);
      state.journaled = condition;
      this.parts.log.info(
        { service: fleet.service, from: decision.from, to: decision.to, reason: decision.reason },
        `autoscaled: ${decision.message}`,
      );
      await this.parts.emit({ kind: 'autoscaled', service: fleet.service, decision });
      return scaled;
    }
    if (condition !== state.journaled) {
      state.journaled = condition;
      if (condition !== 'metrics')
        await this.parts.emit({ kind: 'autoscaled', service: fleet.service, decision });
    }
    return fleet;
  }

  /** The fleet's bounds and last decision, for `herd status`; undefined when it is not autoscaled. */
  statusOf(service: string, template: FleetTemplate): AutoscaleStatus | undefined {
    const autoscale = template.fleet.autoscale;
    if (!autoscale) return undefined;
    const last = this.fleets.get(service)?.last;
    return {
      min: autoscale.min,
      max: autoscale.max,
      ...(last
        ? { last: { at: last.at, from: last.from, to: last.to, reason: last.reason, message: last.message } }
        : {}),
    };
  }

  /**
   * Whether a reading holds anything a later one can be measured from: a CPU reading or a backend
   * at the door. A source herd does not have at all (an engine without stats, no door for the fleet) does
   * not wait: the decision then says its metric cannot be read.
   */
  private measurable(readings: MetricReadings, autoscale: AutoscaleSection): boolean {
    const { engine, frontDoor } = this.parts;
    return autoscale.metrics.some((metric) =>
      metric.kind === 'cpu'
        ? !engine.stats || readings.cpu.size > 0
        : !frontDoor?.load || readings.door === undefined || readings.door.backends.length > 0,
    );
  }

  /** Only what the metrics need: the engine's stats for `cpu`, the door's counters for the others. */
  private async read(
    service: string,
    autoscale: AutoscaleSection,
    instances: readonly Instance[],
  ): Promise<MetricReadings> {
    const cpu = new Map<string, InstanceStats>();
    const { engine, frontDoor } = this.parts;
    if (engine.stats && autoscale.metrics.some((metric) => metric.kind === 'cpu')) {
      const stats = engine.stats.bind(engine);
      await Promise.all(
        instances
          .filter((instance) => instance.state === 'running')
          .map(async (instance) => {
            try {
              cpu.set(instance.id, await stats(instance.id));
            } catch (error) {
              // Unmeasured this period (gone meanwhile, or the engine hiccuped): HPA's missing sample.
              this.parts.log.warn({ service, id: instance.id, err: error }, 'could not read cpu stats');
            }
          }),
      );
    }
    const door = autoscale.metrics.some((metric) => metric.kind !== 'cpu')
      ? frontDoor?.load?.(service)
      : undefined;
    return readingsOf(cpu, door);
  }
}

/**
 * The size a rollout gives an autoscaled fleet: the autoscaler owns it, as HPA owns a Deployment's
 * replicas, so a new template's `size` does not reset it; it is only brought within the new bounds.
 * A first rollout, or a fleet without autoscale, takes the template's size.
 */
export function rolloutSize(current: number | undefined, template: FleetTemplate): number {
  const autoscale = template.fleet.autoscale;
  if (current === undefined || !autoscale) return template.fleet.size;
  if (current === 0) return 0;
  return Math.min(autoscale.max, Math.max(autoscale.min, current));
}

/** Where in a period of `periodMs` the service's decisions fall: a hash of its name, below the period. */
function phaseOf(service: string, periodMs: number): number {
  return createHash('sha256').update(service).digest().readUInt32BE(0) % periodMs;
}

/**
 * A decision's condition, as HPA states it in its AbleToScale and ScalingLimited conditions: the
 * reason, and why the metrics' recommendation was held or cut. `metrics` alone is the quiet one.
 */
function conditionOf(decision: ScaleDecision): string {
  const parts: string[] = [decision.reason];
  if (decision.stabilization && decision.stabilization.reason !== 'ready-for-new-scale')
    parts.push(decision.stabilization.reason);
  if (decision.limit && decision.limit.reason !== 'desired-within-range') parts.push(decision.limit.reason);
  return parts.join('/');
}
