/**
 * Which of a fleet's instances the autoscaler measures: the ones the front door serves from. For a
 * blue-green fleet that is the active revision's instances only, as Argo Rollouts points the HPA's
 * selector (the Rollout's `status.selector`) at the active ReplicaSet: the fleet baking out of
 * traffic after a switch, and a new fleet started beside the active one before it, carry no load,
 * so counting them (idle, or unmeasured at the door) would hold the decision down. Kept at the size
 * they have, they are no part of it. Pure.
 */
import type { Instance } from '../engines/index.js';
import type { BlueGreenFleet } from './plan-blue-green.js';
import type { ObservedInstance } from './plan-rollout.js';

export interface AutoscaledInstances {
  instances: readonly Instance[];
  observed: readonly ObservedInstance[];
}

/**
 * The instances the decision samples: all of a rolling fleet's; of a blue-green one, those of the
 * revision it serves, unless it has none (a first rollout, or all of them gone), when the door
 * sends to whatever is ready and so every instance counts.
 */
export function autoscaledInstances(
  fleet: Pick<BlueGreenFleet, 'active'> | undefined,
  all: AutoscaledInstances,
): AutoscaledInstances {
  const active = fleet?.active;
  if (active === undefined || !all.instances.some((one) => one.revision === active)) return all;
  return {
    instances: all.instances.filter((one) => one.revision === active),
    observed: all.observed.filter((one) => one.revision === active),
  };
}
