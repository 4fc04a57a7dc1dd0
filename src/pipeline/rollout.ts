/**
 * Rollout and rollback as use cases: what `ControlPlane.rollout` and `rollback` do, whether the
 * fleet API or `herd up` asked. The controller refuses what admission refuses (./admit.ts, which
 * the control plane hands it), records the desired state and the history in herd.db, and reports
 * the rollout, which ./journal-fleet-event.ts writes to the journal with whoever asked as its actor.
 */
import type { FleetController, FleetTemplate, FrontDoors } from '../fleet/index.js';
import type { Digest } from '../oci/index.js';
import { shortDigest } from '../oci/index.js';

export interface RolloutParts {
  /** The fleet controller; the control plane starts it, and the engine, on first use. */
  fleets: () => Promise<FleetController>;
  frontDoors: Pick<FrontDoors, 'open' | 'close'>;
}

export interface RolloutRequest {
  service: string;
  digest: Digest;
  /**
   * The template made from the service's herd.yaml: needed for a fleet's first rollout, and it
   * brings its size. Without it the fleet keeps its stored template and size.
   */
  template?: FleetTemplate;
  /** Who asked, for the journal; the control plane itself when nobody did (herd up). */
  actor?: string;
}

/** What a rollout or rollback moved the fleet to. */
export interface RolloutTarget {
  service: string;
  /** The fleet's revision: the short digest that names its instances. */
  revision: string;
  digest: Digest;
}

/**
 * Starts moving the fleet to `digest`. It refuses, and changes nothing, when the engine is
 * unreachable, admission refuses the digest, the image cannot be had, or a template's port is
 * taken. The rollout goes on in the controller's syncs.
 */
export async function rolloutImage(parts: RolloutParts, request: RolloutRequest): Promise<RolloutTarget> {
  const { service, digest, template, actor } = request;
  const fleets = await parts.fleets();
  // The door opens first, so a taken port refuses the rollout before anything changed; and closes
  // again when the rollout of a fleet that did not exist yet was refused.
  if (template) await parts.frontDoors.open(service, { port: template.fleet.port ?? 0 });
  const target = { revision: shortDigest(digest), digest };
  try {
    await fleets.rollout(service, target, { ...(actor ? { actor } : {}), ...(template ? { template } : {}) });
  } catch (error) {
    if (template && !fleets.templateOf(service)) await parts.frontDoors.close(service);
    throw error;
  }
  return { service, ...target };
}

/**
 * Rolls the fleet back to the latest digest that completed a rollout before the current one, with
 * the template it ran with; admission is asked again, since it may have been revoked since.
 */
export async function rollbackFleet(
  parts: Pick<RolloutParts, 'fleets'>,
  request: { service: string; actor?: string },
): Promise<RolloutTarget> {
  const { service, actor } = request;
  const good = await (await parts.fleets()).rollback(service, actor ? { actor } : {});
  return { service, revision: good.revision, digest: good.digest };
}

/**
 * Sets the fleet's size, kept across rollouts until the next template brings its own. The
 * controller reports it (`scaled`), journaled with whoever asked as its actor. An autoscaled fleet
 * takes the size as HPA takes a `kubectl scale` of its target: the autoscaler owns the size and
 * decides from it at its next period (back within min and max at once; 0 stops it until scaled
 * again), so the answer carries the bounds for the caller to say so.
 */
export async function scaleFleet(
  parts: Pick<RolloutParts, 'fleets'>,
  request: { service: string; size: number; actor?: string },
): Promise<{ service: string; size: number; autoscale?: { min: number; max: number } }> {
  const { service, size, actor } = request;
  const fleets = await parts.fleets();
  await fleets.scale(service, size, actor ? { actor } : {});
  const autoscale = fleets.templateOf(service)?.fleet.autoscale;
  return { service, size, ...(autoscale ? { autoscale: { min: autoscale.min, max: autoscale.max } } : {}) };
}
