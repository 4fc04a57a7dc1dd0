/**
 * Kubernetes' rolling-update fenceposts (pkg/controller/deployment/util/deployment_util.go,
 * ResolveFenceposts and MaxUnavailable): surge rounds up, unavailable rounds down, and when both come
 * to 0 one instance may be unavailable, or the rollout could never move.
 */
import type { InstanceCount } from '../specfile/index.js';
import { FleetError } from './errors.js';

export interface RolloutBounds {
  /** Instances above `size` that may exist. */
  surge: number;
  /** Instances below `size` that may be unavailable. */
  unavailable: number;
  /** size + surge: never more instances than this. */
  maxTotal: number;
  /** size − unavailable: never fewer available instances than this (once there were that many). */
  minAvailable: number;
}

/** A count or percentage of `size`, rounded up or down (GetScaledValueFromIntOrPercent). */
export function scaleCount(count: InstanceCount, size: number, roundUp: boolean): number {
  if (typeof count === 'number') {
    if (Number.isInteger(count) && count >= 0) return count;
  } else {
    const match = /^(\d+)%$/.exec(count);
    if (match) {
      const scaled = (Number(match[1]) * size) / 100;
      return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
    }
  }
  throw new FleetError(
    'COUNT_INVALID',
    `expected a whole number of instances or a percentage such as "25%", got ${JSON.stringify(count)}`,
  );
}

export function resolveBounds(
  size: number,
  strategy: { maxSurge: InstanceCount; maxUnavailable: InstanceCount },
): RolloutBounds {
  const surge = scaleCount(strategy.maxSurge, size, true);
  let unavailable = scaleCount(strategy.maxUnavailable, size, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  // MaxUnavailable: never more unavailable than the fleet has instances.
  unavailable = Math.min(unavailable, size);
  return { surge, unavailable, maxTotal: size + surge, minAvailable: size - unavailable };
}
