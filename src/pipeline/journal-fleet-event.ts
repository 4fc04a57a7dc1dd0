/**
 * The journal of the fleets: every rollout, rollback, revert, scale and replacement the controller
 * makes, whoever asked for it, is written here as the controller reports it.
 */
import type { FleetEvent } from '../fleet/index.js';
import type { Journal, JournalAction } from '../journal/index.js';

const fleetActions: Record<FleetEvent['kind'], JournalAction> = {
  'rollout-started': 'rollout',
  'rollout-complete': 'rollout',
  'rollout-failed': 'revert',
  scaled: 'scale',
  autoscaled: 'scale',
  paused: 'pause',
  resumed: 'resume',
  'instance-created': 'replace',
  'instance-removed': 'replace',
  'create-failed': 'replace',
  degraded: 'replace',
  'image-reloaded': 'replace',
};

/**
 * Fleet events go to the journal as they are: they hold ids, digests and reasons, never env
 * values. An event someone asked for (a scale, a rollout through the API) names them as the actor;
 * what the controller does on its own is the control plane's.
 */
export function journalFleetEvent(
  journal: Journal,
  event: FleetEvent,
  options: { controlPlaneActor: string },
): void {
  const { kind, service, ...rest } = event;
  const digest = 'digest' in event ? event.digest : undefined;
  const asked = 'actor' in event ? event.actor : undefined;
  if ('actor' in rest) delete rest.actor;
  journal.append({
    actor: asked ?? options.controlPlaneActor,
    action: fleetActions[kind],
    service,
    ...(digest ? { digest } : {}),
    details: { event: kind, ...rest },
  });
}
