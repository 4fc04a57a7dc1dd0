/**
 * One sync's decision, from desired and observed state, as Kubernetes' rolling update makes it
 * (pkg/controller/deployment/rolling.go): scale the desired release up first, within size + surge;
 * then remove old instances, unavailable ones before available ones, keeping size − unavailable
 * available. The same function does plain scaling and replaces crashed or unhealthy instances when no
 * rollout is in progress. Pure: time comes in as `now`.
 */
import type { InstanceState } from '../engines/engine.js';
import type { InstanceCount } from '../spec/fleet-section.js';
import { resolveBounds } from './rollout-arithmetic.js';

export interface ObservedInstance {
  id: string;
  release: string;
  state: InstanceState;
  /** Epoch ms at which it last turned ready (passing health); absent while it is not ready. */
  readySince?: number;
  /** It failed `failureThreshold` checks in a row and is to be replaced. */
  unhealthy: boolean;
  /**
   * A monitor found it changed (drift, an exec session): it is replaced like an instance of an old
   * release, a pristine one first, within the rollout bounds.
   */
  condemned?: boolean;
  /** Its image's file manifest did not verify: never counted ready (see fleet-memory.ts `withWatchMarks`). */
  untrusted?: boolean;
}

export interface PlannedFleet {
  release: string;
  size: number;
  strategy: { maxSurge: InstanceCount; maxUnavailable: InstanceCount; minReadySeconds: number };
  /** Releases in the fleet's history; an instance of any other release is an orphan, removed at once. */
  knownReleases?: ReadonlySet<string>;
}

export interface Observation {
  instances: readonly ObservedInstance[];
  /** Epoch ms. */
  now: number;
}

export type RemoveReason = 'exited' | 'unhealthy' | 'replaced' | 'condemned' | 'scale-down' | 'orphan';

export type RolloutAction =
  | { kind: 'create'; release: string; count: number }
  | { kind: 'remove'; id: string; reason: RemoveReason };

/** Ready for at least minReadySeconds: what the bounds count. */
export function isAvailable(instance: ObservedInstance, minReadySeconds: number, now: number): boolean {
  return (
    instance.state === 'running' &&
    !instance.unhealthy &&
    instance.readySince !== undefined &&
    now - instance.readySince >= minReadySeconds * 1000
  );
}

/** Passing its checks now (maybe not for minReadySeconds yet): the front door sends to it. */
export function isReady(instance: ObservedInstance): boolean {
  return instance.state === 'running' && !instance.unhealthy && instance.readySince !== undefined;
}

/** Instances that take up room: everything not yet exited (a removing one still exists). */
export function isAlive(instance: ObservedInstance): boolean {
  return instance.state !== 'exited';
}

export function planRollout(fleet: PlannedFleet, observed: Observation): RolloutAction[] {
  const { now } = observed;
  const bounds = resolveBounds(fleet.size, fleet.strategy);
  const available = (instance: ObservedInstance) =>
    isAvailable(instance, fleet.strategy.minReadySeconds, now);
  const actions: RolloutAction[] = [];
  const remove = (instance: ObservedInstance, reason: RemoveReason) =>
    actions.push({ kind: 'remove', id: instance.id, reason });

  // Removing what is not ready lowers neither availability nor serving, so it needs no budget. A ready
  // instance not yet available (e.g. adopted after a restart and checked again) still serves: budget.
  const kept: ObservedInstance[] = [];
  for (const instance of observed.instances) {
    const old = instance.release !== fleet.release || instance.condemned === true;
    if (!isAlive(instance)) remove(instance, 'exited');
    else if (instance.state === 'removing') kept.push(instance);
    else if (old && fleet.knownReleases && !fleet.knownReleases.has(instance.release))
      remove(instance, 'orphan');
    else if (instance.unhealthy) remove(instance, 'unhealthy');
    else if (old && !isReady(instance)) remove(instance, instance.condemned ? 'condemned' : 'replaced');
    else kept.push(instance);
  }

  const current = kept.filter(
    (instance) => instance.release === fleet.release && !instance.condemned && instance.state !== 'removing',
  );
  const create = Math.min(fleet.size - current.length, bounds.maxTotal - kept.length);
  if (create > 0) actions.push({ kind: 'create', release: fleet.release, count: create });

  // Each ready instance removed from here on must leave at least minAvailable available behind.
  let budget = kept.filter(available).length - bounds.minAvailable;
  // Condemned instances go before old releases: they are the ones that must not stay.
  const old = kept
    .filter(
      (instance) =>
        (instance.release !== fleet.release || instance.condemned) && instance.state !== 'removing',
    )
    .sort((a, b) => Number(b.condemned === true) - Number(a.condemned === true) || newestReadyFirst(a, b));
  for (const instance of old) {
    if (budget <= 0) break;
    remove(instance, instance.condemned ? 'condemned' : 'replaced');
    budget--;
  }

  let excess = current.length - fleet.size;
  const surplus = [...current].sort(
    (a, b) => Number(isReady(a)) - Number(isReady(b)) || newestReadyFirst(a, b),
  );
  for (const instance of surplus) {
    if (excess <= 0) break;
    if (isReady(instance)) {
      if (budget <= 0) break;
      budget--;
    }
    remove(instance, 'scale-down');
    excess--;
  }
  return actions;
}

/** As Kubernetes ranks pods for deletion: the one ready most recently has the least to lose. */
function newestReadyFirst(a: ObservedInstance, b: ObservedInstance): number {
  return (
    (b.readySince ?? Number.POSITIVE_INFINITY) - (a.readySince ?? Number.POSITIVE_INFINITY) ||
    compareIds(a, b)
  );
}

function compareIds(a: ObservedInstance, b: ObservedInstance): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
