/**
 * `strategy.type: recreate`, as Kubernetes' Recreate deployment strategy: every instance of an old
 * revision is drained and removed first, and the new revision's instances are made only once none
 * of the old is left (not even one being removed), all at once. The fleet serves nothing in
 * between, by design: for workloads that must never run two revisions side by side. With no old
 * instance left, a recreate fleet scales and heals as a rolling one does. Pure.
 */
import {
  isAlive,
  type Observation,
  type PlannedFleet,
  planRollout,
  type RolloutAction,
} from './plan-rollout.js';

export function planRecreate(fleet: PlannedFleet, observed: Observation): RolloutAction[] {
  const oldAlive = observed.instances.some(
    (one) => isAlive(one) && !one.held && one.revision !== fleet.revision,
  );
  if (!oldAlive) return planRollout(fleet, observed);
  // Every old instance may go at once (nothing need stay available), and nothing new is made
  // while one still exists: the rolling planner with those bounds, less its creates.
  const all = { ...fleet, strategy: { ...fleet.strategy, maxSurge: 0, maxUnavailable: '100%' as const } };
  return planRollout(all, observed).filter((action) => action.kind !== 'create');
}
