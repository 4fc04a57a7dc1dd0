/**
 * The effects of a blue-green bake's verdict: when an instance of the revision just switched to exits
 * or turns unhealthy while the old fleet still bakes, the rollout fails and, with autoRevert, the
 * controller's `revert` switches the front door back to the old fleet, still running. Without
 * autoRevert the instance is only replaced, as any unhealthy one. The verdict is pure
 * (plan-blue-green.ts `failedInBake`).
 */

import { blueGreenFleetOf } from './blue-green-state.js';
import type { FleetStore, HistoryEntry, StoredFleet } from './fleet-store.js';
import { failedInBake } from './plan-blue-green.js';
import type { Observation } from './plan-rollout.js';
import type { FleetEvent } from './types.js';

export interface BakeContext {
  observation: Observation;
  store: FleetStore;
  emit: (event: FleetEvent) => Promise<void>;
  /** Starts a revert and returns the fleet reverting, or undefined when there is nothing to revert to. */
  revert: (fleet: StoredFleet, failed: Omit<HistoryEntry, 'seq' | 'at'>) => Promise<StoredFleet | undefined>;
}

/** The fleet after this sync's verdict on its bake (a settled blue-green fleet). */
export async function judgeBake(fleet: StoredFleet, context: BakeContext): Promise<StoredFleet> {
  const { observation, store } = context;
  // A paused fleet starts no rollout, a revert included; its instances are still replaced.
  if (fleet.status !== 'complete' || fleet.paused || !fleet.template.fleet.strategy.autoRevert) return fleet;
  if (!failedInBake(blueGreenFleetOf(fleet, store), observation)) return fleet;
  const { service, revision, digest, template } = fleet;
  const failed = { revision, digest, outcome: 'failed' as const, reason: 'health' as const, template };
  await context.emit({ kind: 'rollout-failed', service, revision, digest, reason: 'health' });
  const reverting = await context.revert(fleet, failed);
  if (reverting) return reverting;
  // Nothing to revert to: the failure is recorded once, and the fleet heals as any other.
  const next: StoredFleet = { ...fleet, status: 'failed' };
  store.save(next, { now: observation.now, history: [failed] });
  return next;
}
