/**
 * One sync's decision, from desired and observed state, as Kubernetes' rolling update makes it
 * (pkg/controller/deployment/rolling.go): scale the desired revision up first, within size + surge;
 * then remove old instances, unavailable ones before available ones, keeping size − unavailable
 * available. The same function does plain scaling and replaces crashed or unhealthy instances when no
 * rollout is in progress. Pure: time comes in as `now`.
 */
import type { InstanceState } from '../engines/index.js';
import type { InstanceCount } from '../specfile/index.js';
import { countPerNode, removalOrder } from './removal-order.js';
import { resolveBounds } from './rollout-arithmetic.js';

export interface ObservedInstance {
  id: string;
  revision: string;
  state: InstanceState;
  /** Epoch ms at which the engine made it. */
  createdAt?: number;
  /** The node the engine placed it on, on an engine of many machines: removals even the nodes out. */
  node?: string | undefined;
  /** Epoch ms at which it last turned ready (passing health); absent while it is not ready. */
  readySince?: number;
  /** It failed `failureThreshold` checks in a row and is to be replaced. */
  unhealthy: boolean;
  /**
   * A monitor found it changed (drift, an exec session): it is replaced like an instance of an old
   * revision, a pristine one first, within the rollout bounds.
   */
  condemned?: boolean;
  /** Its image's file manifest did not verify: never counted ready (see fleet-memory.ts `withWatchMarks`). */
  untrusted?: boolean;
  /**
   * A condemned instance that has left the front door for good (quarantine.ts): it serves nothing,
   * so it is neither ready nor available, and it goes once its replacement is ready.
   */
  quarantined?: boolean;
  /** Someone holds it (a debug session): out of the fleet's plan, never removed by the controller. */
  held?: boolean;
  /**
   * Past `fleet.maxLifetimeSeconds` (plan-expiry.ts, which marks one at a time): replaced like an
   * instance of an old revision, within the bounds it is handed.
   */
  expired?: boolean;
  /**
   * Made after its image was fetched anew (fleet/image-reload.ts): not ready until a deep check of
   * its filesystem passed, whatever its health checks say.
   */
  unverified?: boolean;
}

export interface PlannedFleet {
  revision: string;
  size: number;
  strategy: { maxSurge: InstanceCount; maxUnavailable: InstanceCount; minReadySeconds: number };
  /** Revisions in the fleet's history; an instance of any other revision is an orphan, removed at once. */
  knownRevisions?: ReadonlySet<string>;
}

export interface Observation {
  instances: readonly ObservedInstance[];
  /** Epoch ms. */
  now: number;
}

export type RemoveReason =
  | 'exited'
  | 'unstarted'
  | 'unhealthy'
  | 'replaced'
  | 'condemned'
  | 'expired'
  | 'scale-down'
  | 'orphan';

/**
 * How long an instance may stay `created` without starting. herd's own create starts what it made
 * at once, so one still unstarted after this was left by a control plane killed between the two.
 */
export const unstartedGraceMs = 10_000;

export type RolloutAction =
  | { kind: 'create'; revision: string; count: number }
  | { kind: 'remove'; id: string; reason: RemoveReason };

/** Ready for at least minReadySeconds: what the bounds count. */
export function isAvailable(instance: ObservedInstance, minReadySeconds: number, now: number): boolean {
  return isReady(instance) && now - (instance.readySince ?? now) >= minReadySeconds * 1000;
}

/** Passing its checks now (maybe not for minReadySeconds yet) and not quarantined: the front door sends to it. */
export function isReady(instance: ObservedInstance): boolean {
  return (
    instance.state === 'running' &&
    !instance.unhealthy &&
    instance.readySince !== undefined &&
    instance.quarantined !== true
  );
}

/** Made but never started, long enough ago that no create of herd's is still starting it. */
export function isUnstarted(instance: ObservedInstance, now: number): boolean {
  return instance.state === 'created' && now - (instance.createdAt ?? now) >= unstartedGraceMs;
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
  const quarantined: ObservedInstance[] = [];
  for (const instance of observed.instances) {
    const old = isOutgoing(instance, fleet.revision);
    if (instance.held && instance.state !== 'exited') continue;
    if (!isAlive(instance)) remove(instance, 'exited');
    else if (isUnstarted(instance, now)) remove(instance, 'unstarted');
    else if (instance.state === 'removing') kept.push(instance);
    else if (old && fleet.knownRevisions && !fleet.knownRevisions.has(instance.revision))
      remove(instance, 'orphan');
    else if (instance.unhealthy) remove(instance, 'unhealthy');
    else if (instance.quarantined) quarantined.push(instance);
    else if (old && !isReady(instance)) remove(instance, outgoingReason(instance));
    else kept.push(instance);
  }

  const current = kept.filter(
    (instance) => !isOutgoing(instance, fleet.revision) && instance.state !== 'removing',
  );
  // A quarantined instance serves nothing but still takes room: it goes once the fleet has `size`
  // ready instances without it (its replacement is ready), or at once when it stands in the way of
  // a replacement that the surge bound would not allow otherwise.
  const wanted = fleet.size - current.length;
  const room = bounds.maxTotal - kept.length - quarantined.length;
  const whole =
    kept.filter((instance) => isReady(instance) && !instance.condemned && instance.state !== 'removing')
      .length >= fleet.size;
  const leaving = whole ? quarantined.length : Math.min(quarantined.length, Math.max(0, wanted - room));
  for (const instance of [...quarantined].sort(compareIds).slice(0, leaving)) remove(instance, 'condemned');
  const create = Math.min(wanted, room + leaving);
  if (create > 0) actions.push({ kind: 'create', revision: fleet.revision, count: create });

  // Each ready instance removed from here on must leave at least minAvailable available behind.
  let budget = kept.filter(available).length - bounds.minAvailable;
  // What stays on each node, for the choices below: each takes from the most crowded node first.
  const perNode = countPerNode(kept.filter((instance) => instance.state !== 'removing'));
  // Condemned instances go before old revisions: they are the ones that must not stay.
  const old = removalOrder(
    kept.filter((instance) => isOutgoing(instance, fleet.revision) && instance.state !== 'removing'),
    { perNode, tier: (instance) => (instance.condemned ? 0 : 1), order: newestReadyFirst },
  );
  for (const instance of old) {
    if (budget <= 0) break;
    remove(instance, outgoingReason(instance));
    budget--;
  }

  let excess = current.length - fleet.size;
  if (excess <= 0) return actions;
  const surplus = removalOrder(current, {
    perNode,
    tier: (instance) => (isReady(instance) ? 1 : 0),
    order: newestReadyFirst,
  });
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

/** An instance to be replaced: of another revision, condemned by a monitor, or past its lifetime. */
function isOutgoing(instance: ObservedInstance, revision: string): boolean {
  return instance.revision !== revision || instance.condemned === true || instance.expired === true;
}

function outgoingReason(instance: ObservedInstance): RemoveReason {
  return instance.condemned ? 'condemned' : instance.expired ? 'expired' : 'replaced';
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
