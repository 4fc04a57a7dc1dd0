/**
 * `herd pause` and `herd resume` as use cases, with Kubernetes' `kubectl rollout pause|resume`
 * semantics: a paused fleet's rollout neither moves nor runs out of time, while the fleet still
 * scales and still replaces crashed or unhealthy instances. The controller keeps the mark in herd.db
 * and reports `paused` or `resumed`, which ./journal-fleet-event.ts journals with whoever asked.
 */
import type { RolloutParts } from './rollout.js';

export interface PauseAnswer {
  service: string;
  paused: boolean;
  /** False when the fleet already was in the state asked for: nothing changed, nothing journaled. */
  changed: boolean;
}

export async function pauseFleet(
  parts: Pick<RolloutParts, 'fleets'>,
  request: { service: string; actor: string },
): Promise<PauseAnswer> {
  const { service, actor } = request;
  const changed = await (await parts.fleets()).pause(service, { actor });
  return { service, paused: true, changed };
}

export async function resumeFleet(
  parts: Pick<RolloutParts, 'fleets'>,
  request: { service: string; actor: string },
): Promise<PauseAnswer> {
  const { service, actor } = request;
  const changed = await (await parts.fleets()).resume(service, { actor });
  return { service, paused: false, changed };
}
