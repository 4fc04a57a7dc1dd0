/**
 * A paused fleet (`herd pause`), as Kubernetes' `kubectl rollout pause`: its rollout does not move
 * (no instance is made or removed to replace a revision), but it still scales to its size and
 * still replaces instances that exited, turned unhealthy or were condemned. Pure: every instance of
 * a revision the fleet has run is planned as one of the fleet's own, so the rolling planner only
 * heals and scales. A replacement is made of the fleet's desired revision, the only one the
 * controller makes; an instance of a revision the fleet never ran is still an orphan, removed.
 * Paused halfway through a rollout, the fleet keeps the instances the surge allowed (size +
 * maxSurge), as Kubernetes keeps a paused Deployment's surge pods; a scale-down trims beyond that.
 */
import {
  isAlive,
  type Observation,
  type ObservedInstance,
  type PlannedFleet,
  planRollout,
  type RolloutAction,
} from './plan-rollout.js';
import { resolveBounds } from './rollout-arithmetic.js';

export function planPaused(fleet: PlannedFleet, observed: Observation): RolloutAction[] {
  const known = fleet.knownRevisions;
  const ownRevision = (one: ObservedInstance) => one.revision === fleet.revision;
  const mixed = observed.instances.some((one) => isAlive(one) && !ownRevision(one));
  const asOwn = (one: ObservedInstance): ObservedInstance =>
    ownRevision(one) || (known && !known.has(one.revision)) ? one : { ...one, revision: fleet.revision };
  const actions = planRollout(fleet, { ...observed, instances: observed.instances.map(asOwn) });
  if (!mixed) return actions;

  const leaving = new Set(
    actions.flatMap((action) =>
      action.kind === 'remove' && action.reason !== 'scale-down' ? [action.id] : [],
    ),
  );
  const staying = observed.instances.filter(
    (one) => isAlive(one) && one.state !== 'removing' && !one.held && !leaving.has(one.id),
  ).length;
  let trim = Math.max(0, staying - resolveBounds(fleet.size, fleet.strategy).maxTotal);
  return actions.filter((action) => action.kind !== 'remove' || action.reason !== 'scale-down' || trim-- > 0);
}
