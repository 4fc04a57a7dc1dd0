/**
 * One sync's decision for a blue-green fleet, as Argo Rollouts' blueGreen strategy makes it: the
 * whole new fleet (green) starts beside the one that serves (blue) and gets no traffic; the front
 * door switches to green in one step once every green instance is available (the rollout then
 * completes, see `assessBlueGreen`); blue keeps running out of traffic for the bake time
 * (`bakeSeconds`, Argo's scaleDownDelaySeconds), so a rollback within it is a switch back, and is
 * removed after. A rollback or revert switches the same way, and leaves nothing to bake: the fleet
 * it leaves is the one found wanting. Settled (no rollout, no bake), the fleet is planned as a
 * rolling one, max lifetime included. Pure: the controller reads the history (blue-green-state.ts)
 * and applies the plan.
 */
import { planExpiry } from './plan-expiry.js';
import {
  isAlive,
  isAvailable,
  isUnstarted,
  type Observation,
  type ObservedInstance,
  type PlannedFleet,
  planRollout,
  type RemoveReason,
  type RolloutAction,
} from './plan-rollout.js';
import {
  assessRollout,
  type ProgressInput,
  type ProgressMark,
  type RolloutVerdict,
} from './rollout-progress.js';

export interface BlueGreenFleet extends PlannedFleet {
  /**
   * The revision the front door serves: the last one whose rollout completed (its completion is the
   * switch). Absent before any completed: a first rollout has nothing to keep serving.
   */
  active?: string;
  /** After a switch made by a rollout: the revision that served before it, kept until `until` (epoch ms). */
  baking?: { revision: string; until: number };
  /** A rollout, rollback or revert is in progress. */
  inRollout?: boolean;
  /** The rollout in progress is a revert: the revision it leaves failed. */
  reverting?: boolean;
  paused?: boolean;
  /** Absent: instances live on (plan-expiry.ts). */
  maxLifetimeSeconds?: number;
}

export interface BlueGreenPlan {
  actions: RolloutAction[];
  /** Which of the instances the front door may send to (quarantine.ts `chooseFrontDoor`) it sends to. */
  serving: ObservedInstance[];
}

/**
 * The fleet that serves (before the switch) or bakes (after it) is planned apart, as a fleet of its
 * own revision kept at `size` (`planKept`). Everything else is planned as a rolling update: during a
 * rollout its surge is the whole fleet, so every green instance is made at once; settled, the
 * fleet's own bounds apply, and an instance past its lifetime is replaced as a rolling fleet's is.
 */
export function planBlueGreen(
  fleet: BlueGreenFleet,
  observed: Observation,
  mayServe: readonly ObservedInstance[],
): BlueGreenPlan {
  const { now } = observed;
  const kept = keptRevision(fleet, now);
  const serving = chooseServing(fleet, mayServe);
  const servingIds = new Set(serving.map((one) => one.id));
  const actions: RolloutAction[] = [];
  const keptInstances: ObservedInstance[] = [];
  const planned: ObservedInstance[] = [];
  for (const instance of observed.instances) {
    if (instance.revision === kept) {
      keptInstances.push(instance);
    } else if (isLeftBehind(fleet, instance, servingIds)) {
      // Neither rolled out, nor serving, nor baking (a rollback's or revert's leftover, a bake that
      // is over, or one a new rollout cut short): nothing waits for it.
      actions.push({ kind: 'remove', id: instance.id, reason: deadReason(instance, now) ?? 'replaced' });
    } else {
      planned.push(instance);
    }
  }
  if (kept !== undefined) actions.push(...planKept(fleet, kept, { instances: keptInstances, now }));
  const rollingOut = fleet.active !== fleet.revision;
  const expiry = planExpiry(
    {
      ...fleet,
      busy: rollingOut || kept !== undefined || fleet.inRollout === true || fleet.paused === true,
    },
    { instances: planned, now },
  );
  const rolling = planRollout(
    { ...fleet, strategy: rollingOut ? { ...fleet.strategy, maxSurge: '100%' } : expiry.strategy },
    { instances: expiry.instances, now },
  );
  return { actions: [...actions, ...rolling], serving };
}

/**
 * The fleet that serves (before the switch) or bakes (after it), kept at `size` with instances of its
 * own revision (the controller makes them from that revision's digest and template), as Argo Rollouts
 * keeps the active ReplicaSet at full size, and the previous one during scaleDownDelaySeconds: before
 * the switch it carries all the traffic, and during the bake it is what a rollback switches back to
 * at once, so a dead, unhealthy or quarantined instance of it is replaced (within the crash backoff,
 * which holds every create), surge first, and one beyond `size` (a scale-down) goes. Not while a
 * revert leaves it: that revision failed, so what dies of it is only removed, until the switch back.
 * Held after a failed rollout (`isHeld`), the serving fleet's instances past their lifetime are
 * replaced, one at a time and surge first, as a settled fleet's are: replacing them with the same
 * revision is safe, and they are the ones serving.
 */
function planKept(fleet: BlueGreenFleet, revision: string, observed: Observation): RolloutAction[] {
  const kept = { revision, size: fleet.size, strategy: fleet.strategy };
  const { maxLifetimeSeconds } = fleet;
  const expiry = planExpiry(
    {
      ...kept,
      ...(maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds } : {}),
      busy: revision !== fleet.active || !isHeld(fleet),
    },
    observed,
  );
  const actions = planRollout(
    { ...kept, strategy: expiry.strategy },
    { instances: expiry.instances, now: observed.now },
  );
  return fleet.reverting ? actions.filter((action) => action.kind !== 'create') : actions;
}

/**
 * A rollout failed and was not reverted (autoRevert off, or nothing to revert to): the fleet serves
 * the revision it served before, out of any rollout, until someone rolls back or out again.
 */
export function isHeld(fleet: BlueGreenFleet): boolean {
  return (
    fleet.active !== undefined &&
    fleet.active !== fleet.revision &&
    fleet.inRollout !== true &&
    fleet.paused !== true
  );
}

function isLeftBehind(
  fleet: BlueGreenFleet,
  instance: ObservedInstance,
  serving: ReadonlySet<string>,
): boolean {
  return (
    instance.revision !== fleet.revision &&
    !instance.held &&
    instance.state !== 'removing' &&
    !serving.has(instance.id) &&
    // An instance of a revision never rolled out is the rolling plan's (an orphan).
    (fleet.knownRevisions === undefined || fleet.knownRevisions.has(instance.revision))
  );
}

/** The revision whose instances are kept apart from the plan now, if any. */
function keptRevision(fleet: BlueGreenFleet, now: number): string | undefined {
  if (fleet.active !== undefined && fleet.active !== fleet.revision) return fleet.active;
  if (fleet.baking && now < fleet.baking.until && fleet.baking.revision !== fleet.revision)
    return fleet.baking.revision;
  return undefined;
}

function deadReason(instance: ObservedInstance, now: number): RemoveReason | undefined {
  if (!isAlive(instance)) return 'exited';
  if (isUnstarted(instance, now)) return 'unstarted';
  if (instance.state === 'removing') return undefined;
  if (instance.unhealthy) return 'unhealthy';
  if (instance.quarantined) return 'condemned';
  return undefined;
}

/**
 * Only the active revision's instances serve, so the switch is one change of the front door's list.
 * When it has none ready (a first rollout, or every one of them gone), the door sends to whatever is
 * ready: an empty door serves nobody.
 */
function chooseServing(fleet: BlueGreenFleet, mayServe: readonly ObservedInstance[]): ObservedInstance[] {
  const active = mayServe.filter((one) => one.revision === fleet.active);
  return active.length > 0 ? active : [...mayServe];
}

/**
 * A blue-green rollout completes, and the front door switches, once `size` instances of the new
 * revision are available, while the old fleet still runs. Until then it fails as a rolling update
 * does: on a new instance that exits or turns unhealthy, or on no progress within the deadline.
 */
export function assessBlueGreen(
  rollout: ProgressInput,
  observed: Observation,
): { verdict: RolloutVerdict; mark: ProgressMark } {
  // Progress is the new fleet's alone: the old one keeps serving at size, so one of its instances
  // going (and being replaced) says nothing of the rollout, and must not put its deadline off.
  const assessed = assessRollout(
    { ...rollout, mark: { ...rollout.mark, oldAlive: 0 } },
    { instances: observed.instances.filter((one) => one.revision === rollout.revision), now: observed.now },
  );
  const available = observed.instances.filter(
    (one) =>
      one.revision === rollout.revision &&
      one.state !== 'removing' &&
      !one.held &&
      isAvailable(one, rollout.minReadySeconds, observed.now),
  ).length;
  return available >= rollout.size ? { verdict: { kind: 'complete' }, mark: assessed.mark } : assessed;
}

/**
 * Whether the switched-to revision failed while the old fleet bakes: one of its instances exited or
 * turned unhealthy. With autoRevert, the controller then switches back to the baking fleet.
 */
export function failedInBake(fleet: BlueGreenFleet, observed: Observation): boolean {
  if (!fleet.baking || observed.now >= fleet.baking.until || fleet.active !== fleet.revision) return false;
  return observed.instances.some(
    (one) => one.revision === fleet.revision && !one.held && (one.state === 'exited' || one.unhealthy),
  );
}
