/**
 * Which planner decides a sync of a fleet that is not blue-green: a paused fleet only heals and
 * scales (plan-paused.ts); a recreate fleet with old instances removes them all before making any
 * (plan-recreate.ts); otherwise the rolling planner, with the instance past its lifetime, if any,
 * marked for replacement (plan-expiry.ts) while no rollout runs. Pure.
 */
import type { StrategyType } from '../specfile/index.js';
import { planExpiry } from './plan-expiry.js';
import { planPaused } from './plan-paused.js';
import { planRecreate } from './plan-recreate.js';
import {
  type Observation,
  type ObservedInstance,
  type PlannedFleet,
  planRollout,
  type RolloutAction,
} from './plan-rollout.js';

export interface SyncedFleet extends PlannedFleet {
  /** Absent: rolling. */
  type?: StrategyType;
  maxLifetimeSeconds?: number;
  /** A rollout (or revert) is in progress. */
  inRollout: boolean;
  paused: boolean;
}

export interface SyncPlan {
  actions: RolloutAction[];
  /** The instance replaced for its age this sync. */
  expiring?: ObservedInstance;
}

export function planSync(fleet: SyncedFleet, observed: Observation): SyncPlan {
  if (fleet.paused) return { actions: planPaused(fleet, observed) };
  if (fleet.type === 'recreate' && fleet.inRollout) return { actions: planRecreate(fleet, observed) };
  const expiry = planExpiry({ ...fleet, busy: fleet.inRollout }, observed);
  const actions = planRollout(
    { ...fleet, strategy: expiry.strategy },
    { ...observed, instances: expiry.instances },
  );
  return { actions, ...(expiry.expiring ? { expiring: expiry.expiring } : {}) };
}
