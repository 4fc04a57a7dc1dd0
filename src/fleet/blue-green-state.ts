/**
 * What a blue-green fleet's plan needs beyond its desired state, read from its history in herd.db
 * (never from memory, so a restarted controller serves and bakes as the one before it did): the
 * revision the front door serves (the last rollout that completed: its completion is the switch) and,
 * after a rollout's switch, the revision baking out of traffic and until when.
 */
import { defaultBakeSeconds } from '../specfile/index.js';
import type { FleetStore, StoredFleet } from './fleet-store.js';
import type { BlueGreenFleet } from './plan-blue-green.js';

export function isBlueGreen(fleet: StoredFleet): boolean {
  return fleet.template.fleet.strategy.type === 'blue-green';
}

/** The old revision baking now, and until when; undefined when nothing bakes. */
export function bakeOf(
  fleet: StoredFleet,
  context: { store: FleetStore; now: number },
): { revision: string; until: number } | undefined {
  const { baking } = blueGreenFleetOf(fleet, context.store);
  return baking && context.now < baking.until ? baking : undefined;
}

export function blueGreenFleetOf(fleet: StoredFleet, store: FleetStore): BlueGreenFleet {
  const { service, revision, size, status } = fleet;
  const { strategy, maxLifetimeSeconds } = fleet.template.fleet;
  const planned: BlueGreenFleet = {
    revision,
    size,
    strategy,
    knownRevisions: store.knownRevisions(service),
    inRollout: status === 'progressing' || status === 'reverting',
    reverting: status === 'reverting',
    paused: fleet.paused !== undefined,
    ...(maxLifetimeSeconds !== undefined ? { maxLifetimeSeconds } : {}),
  };
  const last = store.lastComplete(service);
  if (!last) return planned;
  const active = { ...planned, active: last.revision };
  // Only a rollout's switch bakes: a rollback or revert leaves the fleet it was taken away from.
  if (fleet.status !== 'complete' || last.revision !== revision || last.startedBy !== 'rollout')
    return active;
  const before = store.lastGood(service, revision);
  if (!before) return active;
  const bakeMs = (strategy.bakeSeconds ?? defaultBakeSeconds) * 1000;
  return { ...active, baking: { revision: before.revision, until: last.at + bakeMs } };
}

/**
 * What an instance of `revision` is made from: the fleet's desired state, or, for the revision a
 * blue-green fleet keeps serving before its switch or baking after it (plan-blue-green.ts
 * `planKept`), the digest and template it last ran with, from its latest row in the history.
 * Undefined for a revision the history never held.
 */
export function madeFrom(
  fleet: StoredFleet,
  revision: string,
  store: FleetStore,
): Pick<StoredFleet, 'service' | 'revision' | 'digest' | 'template'> | undefined {
  if (revision === fleet.revision) return fleet;
  const entry = store.history(fleet.service).findLast((one) => one.revision === revision);
  return entry && { service: fleet.service, revision, digest: entry.digest, template: entry.template };
}
