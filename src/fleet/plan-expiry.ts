/**
 * Max instance lifetime, as AWS ASG's MaxInstanceLifetime: an instance older than
 * `fleet.maxLifetimeSeconds` is replaced through the rollout's own health-gated path, one at a
 * time and surge first (a replacement is made, and the old instance drained and removed only once
 * the fleet has `size` available instances without it). Pure: which instance, if any, expires now.
 *
 * The stagger: each instance is due a little before its lifetime ends, by up to a tenth of it,
 * from a hash of its id (as ASG may replace an instance before its maximum lifetime so that not all
 * go at once). A fleet started at once thus comes due spread over the last tenth of the lifetime,
 * its replacements are made at those spread times, and every later generation is spread as well;
 * one at a time holds regardless. A hash, not a random draw, so every sync (and a restarted
 * control plane) picks the same instance and the same time.
 */
import { createHash } from 'node:crypto';
import type { InstanceCount } from '../specfile/index.js';
import { isAlive, isAvailable, type Observation, type ObservedInstance } from './plan-rollout.js';
import { resolveBounds } from './rollout-arithmetic.js';

/** The most an instance's deadline comes before its lifetime ends, as a fraction of the lifetime. */
export const expiryStagger = 0.1;

export interface ExpiringFleet {
  revision: string;
  size: number;
  strategy: { maxSurge: InstanceCount; maxUnavailable: InstanceCount; minReadySeconds: number };
  /** Absent: instances live on. */
  maxLifetimeSeconds?: number;
  /**
   * A rollout in progress, or a paused fleet: no instance is replaced for its age then (the rollout
   * replaces them anyway; a paused fleet only scales and heals).
   */
  busy: boolean;
}

export interface ExpiryPlan {
  /** The instances for planRollout: the one expiring now (if any) marked `expired`. */
  instances: readonly ObservedInstance[];
  /** The instance replaced for its age, for the journal. */
  expiring?: ObservedInstance;
  /** The strategy planRollout applies: no instance may be unavailable while one expires, when a surge is allowed. */
  strategy: ExpiringFleet['strategy'];
}

/** Epoch ms at which the instance is due for replacement: its lifetime, less its stagger. */
export function expiresAt(instance: { id: string; createdAt: number }, maxLifetimeSeconds: number): number {
  const lifetimeMs = maxLifetimeSeconds * 1000;
  return instance.createdAt + lifetimeMs - Math.floor(lifetimeMs * expiryStagger * staggerOf(instance.id));
}

/**
 * The instance replaced for its age now, or none: the one due earliest among the fleet's own, and
 * only while the fleet is whole (at least `size` available, the expiring one included), so that an
 * expiry never starts while the fleet is still healing or scaling up, and never two at once: while
 * one is replaced the fleet has `size` available with it and its replacement is not yet available,
 * and the next is chosen once it is gone.
 */
export function chooseExpiring(fleet: ExpiringFleet, observed: Observation): ObservedInstance | undefined {
  const lifetime = fleet.maxLifetimeSeconds;
  if (lifetime === undefined || fleet.busy) return undefined;
  const { now } = observed;
  const own = observed.instances.filter(
    (one) =>
      isAlive(one) &&
      one.state !== 'removing' &&
      one.revision === fleet.revision &&
      !one.condemned &&
      !one.held &&
      !one.quarantined,
  );
  const available = own.filter((one) => isAvailable(one, fleet.strategy.minReadySeconds, now));
  if (available.length < fleet.size) return undefined;
  let chosen: { instance: ObservedInstance; due: number } | undefined;
  for (const instance of own) {
    if (instance.createdAt === undefined) continue;
    const due = expiresAt({ id: instance.id, createdAt: instance.createdAt }, lifetime);
    if (due > now) continue;
    if (!chosen || due < chosen.due || (due === chosen.due && instance.id < chosen.instance.id))
      chosen = { instance, due };
  }
  return chosen?.instance;
}

/** What planRollout is handed this sync: the expiring instance marked, and the bounds it is replaced within. */
export function planExpiry(fleet: ExpiringFleet, observed: Observation): ExpiryPlan {
  const expiring = chooseExpiring(fleet, observed);
  if (!expiring) return { instances: observed.instances, strategy: fleet.strategy };
  const instances = observed.instances.map((one) => (one === expiring ? { ...one, expired: true } : one));
  // Surge first: an expiry is never urgent, so it takes nothing from availability when it can add
  // instead. With no surge allowed, the rollout's maxUnavailable is the only way it can move.
  const surges = resolveBounds(fleet.size, fleet.strategy).surge > 0;
  const strategy = surges ? { ...fleet.strategy, maxUnavailable: 0 } : fleet.strategy;
  return { instances, expiring, strategy };
}

/** A fraction in [0, 1) from the id's sha256: the same for the same id, spread across ids. */
function staggerOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
