/**
 * What the controller keeps in memory per fleet: health records, the crash backoff and the current
 * rollout's failures and progress mark. Losing it in a crash only makes a new controller more careful
 * (it checks again, and the deadline's start is in herd.db).
 */

import type { Instance } from '../engines/index.js';
import {
  type BackoffPolicy,
  type CrashBackoff,
  isDegraded,
  noCrashes,
  recordCrashes,
} from './crash-backoff.js';
import { InstanceHealth } from './instance-health.js';
import type { ObservedInstance } from './plan-rollout.js';
import type { ProgressMark } from './rollout-progress.js';
import type { HealthProber } from './types.js';

export interface FleetMemory {
  health: InstanceHealth;
  /**
   * The engine's list at the last sync, less what it removed, plus what it created: what quarantine
   * decides from, so that taking an instance out of the front door needs no call to the engine.
   */
  instances: readonly Instance[];
  backoff: CrashBackoff;
  /** Exited instances already counted as crashes, so one exit counts once. */
  countedExits: Set<string>;
  /** Instances (or refused creates) of the revision being rolled out that failed during the rollout. */
  rolloutFailures: Set<string>;
  mark?: ProgressMark;
  degraded: boolean;
  /** Instances a monitor asked to replace (id → why); forgotten once the engine no longer lists them. */
  condemned: Map<string, string>;
  /** Condemned instances that have left the front door: they never come back to it. */
  leftDoor: Set<string>;
  /** Condemned instances someone holds (a debug session): never removed by the controller. */
  held: Set<string>;
  /** Instances whose image's file manifest did not verify. */
  untrusted: Set<string>;
  /** Instances made after their image was fetched anew, until the watch's deep check passes them. */
  unverified: Set<string>;
}

export function newFleetMemory(prober: HealthProber): FleetMemory {
  return {
    health: new InstanceHealth(prober),
    instances: [],
    backoff: noCrashes,
    countedExits: new Set(),
    rolloutFailures: new Set(),
    degraded: false,
    condemned: new Map(),
    leftDoor: new Set(),
    held: new Set(),
    untrusted: new Set(),
    unverified: new Set(),
  };
}

/**
 * Applies what the monitors said: a condemned instance is planned out like an old revision, and once
 * it has left the front door it is quarantined (never ready again); an untrusted one never counts as
 * ready, so the front door skips it and a rollout cannot complete on it. Marks of instances the
 * engine no longer lists are forgotten.
 */
export function withWatchMarks(
  memory: FleetMemory,
  instances: readonly ObservedInstance[],
): ObservedInstance[] {
  // Nearly every sync of nearly every fleet: nothing marked, nothing to forget or copy.
  const marks =
    memory.condemned.size +
    memory.leftDoor.size +
    memory.held.size +
    memory.untrusted.size +
    memory.unverified.size;
  if (marks === 0) return [...instances];
  const listed = new Set(instances.map((one) => one.id));
  for (const id of memory.condemned.keys()) if (!listed.has(id)) memory.condemned.delete(id);
  for (const id of memory.leftDoor) if (!listed.has(id)) memory.leftDoor.delete(id);
  for (const id of memory.held) if (!listed.has(id)) memory.held.delete(id);
  for (const id of memory.untrusted) if (!listed.has(id)) memory.untrusted.delete(id);
  for (const id of memory.unverified) if (!listed.has(id)) memory.unverified.delete(id);
  return instances.map((one) => {
    let marked = one;
    if (memory.condemned.has(one.id)) marked = { ...marked, condemned: true };
    if (memory.leftDoor.has(one.id)) marked = { ...marked, quarantined: true };
    if (memory.held.has(one.id)) marked = { ...marked, held: true };
    if (memory.untrusted.has(one.id)) {
      const { readySince: _, ...unready } = marked;
      marked = { ...unready, untrusted: true };
    }
    if (memory.unverified.has(one.id)) {
      const { readySince: _, ...unready } = marked;
      marked = { ...unready, unverified: true };
    }
    return marked;
  });
}

/** Counts instances that exited since the last sync into the backoff. */
export function countCrashes(
  memory: FleetMemory,
  observed: { instances: readonly ObservedInstance[]; now: number; policy: BackoffPolicy },
): void {
  const exited = observed.instances.filter(
    (one) => one.state === 'exited' && !memory.countedExits.has(one.id),
  );
  const forgetGone = memory.countedExits.size > 0;
  for (const one of exited) memory.countedExits.add(one.id);
  if (forgetGone) {
    const listed = new Set(observed.instances.map((one) => one.id));
    for (const id of memory.countedExits) if (!listed.has(id)) memory.countedExits.delete(id);
  }
  memory.backoff = recordCrashes(memory.backoff, {
    count: exited.length,
    now: observed.now,
    policy: observed.policy,
  });
}

/** Notes instances of the revision being rolled out that exited or turned unhealthy. */
export function countRolloutFailures(
  memory: FleetMemory,
  revision: string,
  instances: readonly ObservedInstance[],
): void {
  for (const one of instances) {
    if (one.revision === revision && (one.state === 'exited' || one.unhealthy))
      memory.rolloutFailures.add(one.id);
  }
}

/** Whether the fleet just turned degraded (to say so once), updating the flag. */
export function turnedDegraded(
  memory: FleetMemory,
  options: { now: number; policy: BackoffPolicy },
): boolean {
  const degraded = isDegraded(memory.backoff, options);
  const turned = degraded && !memory.degraded;
  memory.degraded = degraded;
  return turned;
}

export function forgetRollout(memory: FleetMemory): void {
  memory.rolloutFailures.clear();
  delete memory.mark;
}
