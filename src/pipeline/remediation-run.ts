/**
 * One remediation run, stage by stage: re-lock, build, gate, sign, accept, release to accepted,
 * approval (automatic or `herd approve`), promotion to production, rollout. The stages themselves
 * are handed in (`RunSteps`, made over the real use cases by `remediation-steps.ts`), so the order,
 * the records and what a failure leaves behind are decided here and tested on their own.
 *
 * A failure at any stage stops the run there with the reason, and the fleet stays on its release:
 * nothing is released before acceptance passed, and production only follows an accepted release.
 */
import type { Clock } from '../common/index.js';
import type { Digest } from '../oci/index.js';
import type { RemediationStore } from './remediation-store.js';
import { type PipelineRun, type RunStage, runStages } from './remediation-types.js';

/** What a stage tells the run: what it said, and for `build`, the digest it made. */
export interface StepOutcome {
  output: string;
  /** The stage had nothing to do (say, the rollout of an image the fleet already runs). */
  skipped?: boolean;
}

/** A stage that failed the way it can fail (a gate verdict, an acceptance check), said in one line. */
export class StageFailed extends Error {
  constructor(
    message: string,
    readonly output: string = '',
  ) {
    super(message);
    this.name = 'StageFailed';
  }
}

export interface RunSteps {
  lock(): Promise<StepOutcome>;
  build(): Promise<StepOutcome & { digest: Digest }>;
  gate(digest: Digest): Promise<StepOutcome>;
  sign(digest: Digest): Promise<StepOutcome>;
  accept(digest: Digest): Promise<StepOutcome>;
  release(digest: Digest, stage: 'accepted' | 'production'): Promise<StepOutcome>;
  /** Hands the digest to the fleet and waits until every instance runs it, or the rollout failed. */
  rollout(digest: Digest): Promise<StepOutcome>;
}

export interface RunContext {
  store: RemediationStore;
  clock: Clock;
  steps: RunSteps;
  /** `manual` holds the run at `approve` until `herd approve`. */
  promote: 'auto' | 'manual';
  /** Who approved, once someone did (a resumed approval). */
  approvedBy?: string;
  /** Told when the run ends or waits for approval: the journal, the webhook. */
  settled?(run: PipelineRun): void;
  /**
   * The control plane is stopping: a stage that fails now may fail because of the stop, so the run
   * is left at its stage, as a kill would leave it, for the next start to resume or end.
   */
  stopping?(): boolean;
}

/** A run left at its stage because the control plane stopped under it. */
export class RunAbandoned extends Error {
  constructor(id: number, stage: RunStage) {
    super(`pipeline run ${id} left at ${stage}: the control plane is stopping`);
    this.name = 'RunAbandoned';
  }
}

/**
 * Runs `id` from `from` (the first stage for a new run; the stage to resume at otherwise) until it
 * ends, or waits for approval. Never throws for a stage's failure: the run records it; only
 * `RunAbandoned`, when the control plane stops under it.
 */
export async function executeRun(id: number, from: RunStage, context: RunContext): Promise<PipelineRun> {
  const { store, clock, steps } = context;
  const iso = () => new Date(clock.now()).toISOString();
  let digest = store.get(id)?.digest;
  for (const stage of runStages.slice(runStages.indexOf(from))) {
    if (stage === 'approve' && context.promote === 'manual' && context.approvedBy === undefined) {
      store.stageStarted(id, 'approve', iso());
      store.awaitApproval(id);
      return settle(context, id);
    }
    const started = clock.now();
    store.stageStarted(id, stage, iso());
    try {
      const outcome = await runStage(stage, steps, digest, context);
      if ('digest' in outcome) {
        digest = outcome.digest as Digest;
        store.setDigest(id, digest);
      }
      store.stageEnded(id, stage, {
        status: outcome.skipped ? 'skipped' : 'passed',
        at: iso(),
        durationMs: clock.now() - started,
        output: outcome.output,
      });
    } catch (error) {
      if (context.stopping?.()) throw new RunAbandoned(id, stage);
      const message = error instanceof Error ? error.message : String(error);
      store.stageEnded(id, stage, {
        status: 'failed',
        at: iso(),
        durationMs: clock.now() - started,
        output: error instanceof StageFailed ? error.output : '',
      });
      store.finish(id, { status: 'failed', at: iso(), error: `${stage}: ${message}` });
      return settle(context, id);
    }
  }
  const run = store.get(id);
  const visible = Math.min(
    ...(run?.findings ?? []).map((finding) => Date.parse(finding.visibleAt)).filter(Number.isFinite),
  );
  const ended = clock.now();
  store.finish(id, {
    status: 'succeeded',
    at: new Date(ended).toISOString(),
    // Unknown is left out, not 0: a 0 would pull the fleet's percentiles down.
    ...(Number.isFinite(visible) ? { ttrMs: Math.max(0, ended - visible) } : {}),
  });
  return settle(context, id);
}

async function runStage(
  stage: RunStage,
  steps: RunSteps,
  digest: Digest | undefined,
  context: RunContext,
): Promise<StepOutcome | (StepOutcome & { digest: Digest })> {
  if (stage === 'lock') return steps.lock();
  if (stage === 'build') return steps.build();
  if (stage === 'approve') {
    return context.approvedBy === undefined
      ? { output: 'promote: auto', skipped: true }
      : { output: `approved by ${context.approvedBy}` };
  }
  // Every stage after build works on the digest it made; a run resumed without one cannot go on.
  if (!digest) throw new StageFailed('the run has no built digest to work on');
  switch (stage) {
    case 'gate':
      return steps.gate(digest);
    case 'sign':
      return steps.sign(digest);
    case 'accept':
      return steps.accept(digest);
    case 'release':
      return steps.release(digest, 'accepted');
    case 'promote':
      return steps.release(digest, 'production');
    case 'rollout':
      return steps.rollout(digest);
  }
}

function settle(context: RunContext, id: number): PipelineRun {
  const run = context.store.get(id);
  if (!run) throw new Error(`pipeline run ${id} is not in herd.db`);
  context.settled?.(run);
  return run;
}

/**
 * Where a run the control plane left behind goes on, after a restart. Up to acceptance nothing
 * outside the store has changed, and building again is cheap and gives the same digest, so such a
 * run ends as interrupted and the monitor starts a fresh one. From release on, the catalog or the
 * fleet may already have moved: the run resumes at its stage, each of which is safe to repeat.
 */
export function resumeStage(run: PipelineRun): RunStage | undefined {
  if (run.status !== 'running' || run.stage === undefined) return undefined;
  const at = runStages.indexOf(run.stage);
  return at >= runStages.indexOf('release') ? run.stage : undefined;
}
