/**
 * Whether a rollout is still moving, done, or failed. Kubernetes only marks a rollout
 * `ProgressDeadlineExceeded`; herd fails it, and the controller then reverts to the last good revision
 * as Nomad's `auto_revert` does. Progress is new instances turning available or old ones going
 * away; a rollout that shows none for progressDeadlineSeconds has failed. An instance of the new
 * revision that exits or turns unhealthy fails it at once: the revision is bad, waiting will not help.
 */
import { isAlive, isAvailable, type Observation, type ObservedInstance } from './plan-rollout.js';

/** The counts at the last progress, and when it happened; persisted so a restart keeps the deadline. */
export interface ProgressMark {
  at: number;
  newAvailable: number;
  oldAlive: number;
}

export type RolloutVerdict =
  | { kind: 'progressing' }
  | { kind: 'complete' }
  | { kind: 'failed'; reason: 'health' | 'deadline' };

export interface ProgressInput {
  revision: string;
  size: number;
  minReadySeconds: number;
  progressDeadlineSeconds: number;
  /** Instances of the new revision that exited or turned unhealthy since the rollout began. */
  failedNew: number;
  mark: ProgressMark;
}

export function assessRollout(
  rollout: ProgressInput,
  observed: Observation,
): { verdict: RolloutVerdict; mark: ProgressMark } {
  const counts = countInstances(rollout, observed);
  const moved = counts.newAvailable > rollout.mark.newAvailable || counts.oldAlive < rollout.mark.oldAlive;
  const mark = moved
    ? { at: observed.now, newAvailable: counts.newAvailable, oldAlive: counts.oldAlive }
    : rollout.mark;

  if (counts.newAvailable >= rollout.size && counts.oldAlive === 0 && counts.newAlive === rollout.size)
    return { verdict: { kind: 'complete' }, mark };
  if (rollout.failedNew > 0) return { verdict: { kind: 'failed', reason: 'health' }, mark };
  if (observed.now - mark.at > rollout.progressDeadlineSeconds * 1000)
    return { verdict: { kind: 'failed', reason: 'deadline' }, mark };
  return { verdict: { kind: 'progressing' }, mark };
}

/** The mark a rollout starts from (or a restarted controller resumes from, with the stored time). */
export function markProgress(
  rollout: Pick<ProgressInput, 'revision' | 'minReadySeconds'>,
  observed: Observation,
  at = observed.now,
): ProgressMark {
  const { newAvailable, oldAlive } = countInstances(rollout, observed);
  return { at, newAvailable, oldAlive };
}

function countInstances(
  rollout: Pick<ProgressInput, 'revision' | 'minReadySeconds'>,
  observed: Observation,
): { newAvailable: number; newAlive: number; oldAlive: number } {
  // A held instance (a debug session) is out of the fleet: it neither completes nor blocks a rollout.
  const alive = observed.instances.filter(
    (instance: ObservedInstance) => isAlive(instance) && instance.state !== 'removing' && !instance.held,
  );
  const fresh = alive.filter((instance) => instance.revision === rollout.revision);
  return {
    newAvailable: fresh.filter((instance) => isAvailable(instance, rollout.minReadySeconds, observed.now))
      .length,
    newAlive: fresh.length,
    oldAlive: alive.length - fresh.length,
  };
}
