/**
 * The effects of a rollout's verdict: keep its progress mark in herd.db, close it as complete, or
 * fail it, in which case the controller's `revert` starts the rollback to the last good revision
 * (Nomad's auto_revert). The verdict itself is pure (rollout-progress.ts).
 */
import { type FleetMemory, forgetRollout } from './fleet-memory.js';
import type { FleetStore, HistoryEntry, StoredFleet } from './fleet-store.js';
import { assessBlueGreen } from './plan-blue-green.js';
import type { Observation } from './plan-rollout.js';
import { assessRollout, markProgress } from './rollout-progress.js';
import type { FleetEvent } from './types.js';

export interface JudgeContext {
  memory: FleetMemory;
  observation: Observation;
  store: FleetStore;
  emit: (event: FleetEvent) => Promise<void>;
  /** Starts a revert and returns the fleet reverting, or undefined when there is nothing to revert to. */
  revert: (fleet: StoredFleet, failed: Omit<HistoryEntry, 'seq' | 'at'>) => Promise<StoredFleet | undefined>;
}

/** The fleet after this sync's verdict on its rollout. */
export async function judgeRollout(fleet: StoredFleet, context: JudgeContext): Promise<StoredFleet> {
  const { memory, observation, store } = context;
  const { now } = observation;
  const strategy = fleet.template.fleet.strategy;
  const rollout = fleet.rollout ?? { startedAt: now, progressAt: now };
  // A restarted controller resumes the deadline from the stored progress time.
  memory.mark ??= markProgress(
    { revision: fleet.revision, minReadySeconds: strategy.minReadySeconds },
    observation,
    rollout.progressAt,
  );
  // A blue-green rollout completes at the switch, while the old fleet still runs.
  const assess = strategy.type === 'blue-green' ? assessBlueGreen : assessRollout;
  const { verdict, mark } = assess(
    {
      revision: fleet.revision,
      size: fleet.size,
      minReadySeconds: strategy.minReadySeconds,
      progressDeadlineSeconds: strategy.progressDeadlineSeconds,
      failedNew: memory.rolloutFailures.size,
      mark: memory.mark,
    },
    observation,
  );
  memory.mark = mark;
  const { service, revision, digest, template } = fleet;
  const { rollout: _, ...settled } = fleet;
  switch (verdict.kind) {
    case 'progressing': {
      if (mark.at === rollout.progressAt) return fleet;
      const next = { ...fleet, rollout: { ...rollout, progressAt: mark.at } };
      store.save(next, { now });
      return next;
    }
    case 'complete': {
      const next: StoredFleet = { ...settled, status: 'complete' };
      store.save(next, {
        now,
        history: [{ revision, digest, outcome: 'complete', reason: 'rollout', template }],
      });
      forgetRollout(memory);
      await context.emit({ kind: 'rollout-complete', service, revision, digest });
      return next;
    }
    case 'failed': {
      const failed = { revision, digest, outcome: 'failed' as const, reason: verdict.reason, template };
      await context.emit({ kind: 'rollout-failed', service, revision, digest, reason: verdict.reason });
      const reverting = await context.revert(fleet, failed);
      if (reverting) return reverting;
      const next: StoredFleet = { ...settled, status: 'failed' };
      store.save(next, { now, history: [failed] });
      forgetRollout(memory);
      return next;
    }
  }
}
