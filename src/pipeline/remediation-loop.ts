/**
 * The remediation loop: patch by replacement, without a human in the loop. On each fleet's
 * `watch.updates.interval` (and on `herd check`), the monitor re-locks the fleet's spec against
 * its signed repositories and re-matches its packages against the vulnerability data; when the
 * spec's policy says so, a run rebuilds, gates, signs, accepts, releases and rolls out
 * (`remediation-run.ts`). Runs live in herd.db, so a control plane killed during one finds it again
 * at start and resumes it or ends it as interrupted (`resumeStage`).
 *
 * One check at a time, and at most `policy.concurrency` runs going at once across the fleets (one
 * held for approval builds nothing and is not counted), one per fleet: a build is heavy on a small
 * host, and two runs of one fleet would race for its rollout.
 */
import type { Clock, Logger } from '../common/index.js';
import type { FleetStatus, FleetTemplate } from '../fleet/index.js';
import type { Journal } from '../journal/index.js';
import { type Digest, shortDigest } from '../oci/index.js';
import { defaultUpdatesIntervalSeconds, type PolicySection, type Spec } from '../specfile/index.js';
import { PipelineError } from './errors.js';
import type { SpecInputs } from './lock.js';
import type { Percentiles, RunDecision } from './remediation-policy.js';
import {
  executeRun,
  RunAbandoned,
  type RunContext,
  type RunSteps,
  resumeStage,
  StageFailed,
} from './remediation-run.js';
import { type RemediationStepParts, remediationSteps } from './remediation-steps.js';
import type { PipelineSource, RemediationStore } from './remediation-store.js';
import type {
  CheckOutcome,
  PipelineRun,
  Remediation,
  RemediationTimes,
  UpdateFinding,
} from './remediation-types.js';

/** What the monitor found about one fleet's deployed image (src/pipeline/check-updates.ts). */
export interface FleetCheck {
  findings: UpdateFinding[];
  /** Names what a run would build, so a target that already failed is not tried again. */
  target: string;
  /** The archive went back in time: reported, never acted on. */
  rolledBack?: string;
}

export interface RemediationLoopParts {
  runs: RemediationStore;
  journal: Journal;
  /** The control plane's own actor, for what the loop does on its own. */
  actor: string;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  /** The stages' parts: the run's use cases are the same ones the CLI calls. */
  steps: Omit<RemediationStepParts, 'rollout'>;
  openSpec(specPath: string): Promise<SpecInputs>;
  /** The fleet's status, undefined when the fleet does not exist (yet). */
  fleetStatus(service: string): Promise<FleetStatus | undefined>;
  /** The one way to roll out (ControlPlane.rollout). */
  rollout(
    service: string,
    digest: Digest,
    options: { template: FleetTemplate; actor: string },
  ): Promise<unknown>;
  check(spec: SpecInputs, deployed: { service: string; digest: Digest }): Promise<FleetCheck>;
  decide(policy: PolicySection, findings: UpdateFinding[], now: Date): RunDecision;
  /** Undefined for no values. */
  percentiles(values: number[]): Percentiles | undefined;
  /** A run ended or waits for approval: the spec's webhook hears of it (no env values, no secrets). */
  notify?(spec: Spec | undefined, run: PipelineRun): void;
  /** The stages of a run; the real use cases (`remediationSteps`) unless a test hands in others. */
  stepsFor?(runId: number, spec: SpecInputs, parts: RemediationStepParts): RunSteps;
  /** How long a rollout may take before the run gives up on it; default 15 minutes. */
  rolloutTimeoutMs?: number;
}

const tickMs = 1000;

export class RemediationLoop implements Remediation {
  private readonly nextCheck = new Map<string, number>();
  private readonly going = new Map<number, Promise<PipelineRun | undefined>>();
  private readonly specs = new Map<string, Spec>();
  private checking: Promise<unknown> = Promise.resolve();
  private cancelTick: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly parts: RemediationLoopParts) {}

  /** Ends or resumes what a stopped control plane left, then checks each fleet on its interval. */
  async start(): Promise<void> {
    for (const run of this.parts.runs.active()) {
      if (run.status === 'awaiting-approval') continue;
      const from = resumeStage(run);
      if (from) {
        this.parts.log.info(
          { run: run.id, stage: from },
          'resuming a remediation run the control plane left',
        );
        const source = this.sourceOf(run.service);
        if (source) {
          this.launch(run.id, from, source);
          continue;
        }
      }
      this.parts.runs.finish(run.id, {
        status: 'failed',
        at: this.iso(),
        error: `${run.stage ?? 'lock'}: interrupted: the control plane stopped during the run`,
        interrupted: true,
      });
      this.ended(this.parts.runs.get(run.id));
    }
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    // Runs are not awaited: a rollout can take minutes. A run cut short is found again at start.
  }

  check(options: { service?: string; actor?: string } = {}): Promise<CheckOutcome[]> {
    const sources = this.parts.runs
      .sources()
      .filter((source) => options.service === undefined || source.service === options.service);
    return this.oneAtATime(async () => {
      const outcomes: CheckOutcome[] = [];
      for (const source of sources) outcomes.push(await this.checkOne(source, 'check', options.actor));
      return outcomes;
    });
  }

  /** One check at a time, whoever asked: the monitor's tick and `herd check` queue behind each other. */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const outcome = this.checking.then(work);
    this.checking = outcome.catch(() => undefined);
    return outcome;
  }

  runs(filter: { service?: string; limit?: number } = {}): PipelineRun[] {
    return this.parts.runs.list(filter);
  }

  run(id: number): PipelineRun | undefined {
    return this.parts.runs.get(id);
  }

  async approve(id: number, options: { actor: string }): Promise<PipelineRun> {
    const run = this.parts.runs.get(id);
    if (!run) throw new PipelineError('RUN_NOT_FOUND', `no pipeline run ${id}`);
    if (run.status !== 'awaiting-approval') {
      throw new PipelineError(
        'RUN_NOT_AWAITING_APPROVAL',
        `pipeline run ${id} is ${run.status}${run.stage ? ` at ${run.stage}` : ''}: expected one awaiting approval`,
      );
    }
    const source = this.sourceOf(run.service);
    if (!source) throw new PipelineError('RUN_NOT_FOUND', `no spec is registered for ${run.service}`);
    // Out of awaiting-approval before anything awaits, so a second approval given meanwhile is refused
    // instead of promoting and rolling out the same run twice.
    this.parts.runs.stageStarted(id, 'approve', this.iso());
    this.parts.journal.append({
      actor: options.actor,
      action: 'approve',
      service: run.service,
      ...(run.digest ? { digest: run.digest } : {}),
      details: { run: id },
    });
    this.launch(id, 'approve', source, options.actor);
    return this.parts.runs.get(id) ?? run;
  }

  times(service: string): RemediationTimes {
    return timesOf(service, this.parts.runs.remediationTimes(service), this.parts.percentiles);
  }

  /** Runs still going in this process, for a test or a clean stop to wait on. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.going.values()]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancelTick = this.parts.clock.setTimer(tickMs, () => {
      void this.tick().finally(() => this.schedule());
    });
  }

  private async tick(): Promise<void> {
    const now = this.parts.clock.now();
    for (const source of this.parts.runs.sources()) {
      if (this.stopped) return;
      const due = this.nextCheck.get(source.service);
      if (due === undefined) {
        // The first check comes one interval after the loop first sees a fleet's spec: herd up has
        // just locked and built it, and a restart should not send every fleet to the archive at once.
        this.nextCheck.set(source.service, now + (await this.intervalOf(source)) * 1000);
        continue;
      }
      if (due > now) continue;
      try {
        const result = await this.oneAtATime(() => this.checkOne(source, 'schedule'));
        if (result.skipped)
          this.parts.log.info({ service: source.service, why: result.skipped }, 'no remediation run');
      } catch (error) {
        this.parts.log.warn({ service: source.service, err: String(error) }, 'the update check failed');
      }
      // From the start of this check, at the interval of the spec it just read.
      this.nextCheck.set(source.service, now + (await this.intervalOf(source)) * 1000);
    }
  }

  private async checkOne(
    source: PipelineSource,
    trigger: PipelineRun['trigger'],
    actor?: string,
  ): Promise<CheckOutcome> {
    const { service } = source;
    let spec: SpecInputs;
    try {
      spec = await this.parts.openSpec(source.specPath);
    } catch (error) {
      return {
        service,
        findings: [],
        skipped: `the spec at ${source.specPath} does not load: ${errorText(error)}`,
      };
    }
    this.specs.set(service, spec.loaded.spec);
    const status = await this.parts.fleetStatus(service);
    if (!status) return { service, findings: [], skipped: `${service} has no fleet yet` };
    const found = await this.parts.check(spec, { service, digest: status.digest });
    if (found.rolledBack) return { service, findings: found.findings, skipped: found.rolledBack };
    const { findings } = found;
    if (findings.length === 0) return { service, findings };
    const busy = this.parts.runs.active().find((run) => run.service === service);
    if (busy)
      return { service, findings, skipped: `run ${busy.id} is ${busy.status} at ${busy.stage ?? 'lock'}` };
    const policy = spec.loaded.spec.policy;
    const decision = this.parts.decide(policy, findings, new Date(this.parts.clock.now()));
    if (!decision.run) return { service, findings, skipped: decision.why };
    const failed = this.parts.runs.failedFor(service, found.target);
    // From another release (the fleet moved since), the same versions are another attempt.
    if (failed && failed.fromDigest === status.digest) {
      return {
        service,
        findings,
        skipped: `run ${failed.id} already failed for these versions (${failed.error ?? 'failed'}); a new version or spec starts another`,
      };
    }
    // A run held for `herd approve` builds nothing and may wait for days: it must not hold other
    // fleets' fixes back.
    const active = this.parts.runs.active().filter((run) => run.status === 'running').length;
    if (active >= policy.concurrency) {
      return {
        service,
        findings,
        skipped: `${active} runs going, policy.concurrency is ${policy.concurrency}`,
      };
    }
    const id = this.parts.runs.begin({
      service,
      trigger,
      // The actionable ones: what the run addresses.
      findings: decision.findings,
      target: found.target,
      specDigest: spec.loaded.digest,
      fromDigest: status.digest,
      at: this.iso(),
    });
    this.parts.journal.append({
      // Who asked (`herd check`), else the control plane's own schedule.
      actor: actor ?? this.parts.actor,
      action: 'pipeline',
      service,
      digest: status.digest,
      details: {
        run: id,
        trigger,
        findings: decision.findings.map((finding) => ({
          kind: finding.kind,
          summary: finding.summary,
          cves: finding.cvesFixed,
          visibleAt: finding.visibleAt,
        })),
      },
    });
    this.launch(id, 'lock', source, undefined, spec);
    return { service, findings, run: this.parts.runs.get(id) as PipelineRun };
  }

  /** Runs `id` from `from` in the background; the store says how it goes. */
  private launch(
    id: number,
    from: PipelineRun['stage'] & string,
    source: PipelineSource,
    approvedBy?: string,
    opened?: SpecInputs,
  ) {
    const going = (async () => {
      const spec = opened ?? (await this.parts.openSpec(source.specPath));
      const startedWith = this.parts.runs.get(id)?.specDigest;
      if (startedWith !== undefined && spec.loaded.digest !== startedWith) {
        // Resumed or approved later: the template and checks must be the ones it was accepted with.
        throw new PipelineError(
          'SPEC_CHANGED',
          `${source.specPath} changed since the run started (${startedWith}, now ${spec.loaded.digest}): the next check starts a run for the spec as it is`,
        );
      }
      const context: RunContext = {
        store: this.parts.runs,
        clock: this.parts.clock,
        promote: spec.loaded.spec.policy.promote,
        ...(approvedBy !== undefined ? { approvedBy } : {}),
        steps: this.unmovedBeforePromotion(
          id,
          (this.parts.stepsFor ?? remediationSteps)(id, spec, {
            ...this.parts.steps,
            rollout: (request) => this.rolloutAndWait(request.service, request.digest, request.template),
          }),
        ),
        settled: (run) => this.ended(run, spec.loaded.spec),
        stopping: () => this.stopped,
      };
      return executeRun(id, from, context);
    })().catch((error: unknown): PipelineRun | undefined => {
      // Left as a kill would leave it: herd.db may be closing, the next start finds the run.
      if (error instanceof RunAbandoned || this.stopped) return undefined;
      // executeRun records a stage's failure itself; this is a spec that no longer loads on resume,
      // or a run that ended but could not be told (the journal refused): it keeps how it ended.
      if (this.parts.runs.get(id)?.endedAt !== undefined) throw error;
      this.parts.runs.finish(id, { status: 'failed', at: this.iso(), error: `${from}: ${errorText(error)}` });
      const run = this.parts.runs.get(id) as PipelineRun;
      this.ended(run);
      return run;
    });
    this.going.set(id, going);
    // Nobody awaits a run: what could not even be recorded is logged, never an unhandled rejection.
    void going.then(
      () => this.going.delete(id),
      (error: unknown) => {
        this.going.delete(id);
        this.parts.log.warn({ run: id, err: errorText(error) }, 'a remediation run ended unrecorded');
      },
    );
  }

  /**
   * The steps, with production refused when the fleet moved off the release the run started from
   * (someone rolled out another image while the run built or waited for approval): promoting and
   * rolling out the run's image would replace that release, maybe a newer one. The next check
   * starts from what the fleet runs now.
   */
  private unmovedBeforePromotion(id: number, steps: RunSteps): RunSteps {
    return {
      ...steps,
      release: async (digest, stage) => {
        const run = this.parts.runs.get(id);
        const status = stage === 'production' && run ? await this.parts.fleetStatus(run.service) : undefined;
        if (run && status && status.digest !== run.fromDigest && status.digest !== digest) {
          throw new StageFailed(
            `${run.service} runs ${status.digest}, not ${run.fromDigest} the run started from: ${digest} is not promoted over another release; the next check starts from what runs now`,
          );
        }
        return steps.release(digest, stage);
      },
    };
  }

  /** Rolls out and waits: done when every instance runs the digest; failed when it was reverted. */
  private async rolloutAndWait(service: string, digest: Digest, template: FleetTemplate): Promise<string> {
    const started = this.parts.clock.now();
    const before = await this.parts.fleetStatus(service);
    if (before?.digest === digest && before.status === 'complete') {
      return `${service} already runs ${digest} on ${before.ready}/${before.size} instances`;
    }
    await this.parts.rollout(service, digest, { template, actor: this.parts.actor });
    const deadline = started + (this.parts.rolloutTimeoutMs ?? 15 * 60_000);
    for (;;) {
      // A stopping control plane leaves the run at rollout for the next start; no poll outlives it.
      if (this.stopped) throw new RunAbandoned(-1, 'rollout');
      const status = await this.parts.fleetStatus(service);
      if (!status) throw new PipelineError('ROLLOUT_FAILED', `${service} has no fleet any more`);
      if (status.digest !== digest) {
        throw new PipelineError(
          'ROLLOUT_FAILED',
          `${service} moved to ${status.digest} during the rollout (${status.status}): expected ${digest}`,
        );
      }
      if (status.status === 'failed' || status.status === 'reverting') {
        throw new PipelineError(
          'ROLLOUT_FAILED',
          `the rollout of ${digest} ${status.status}; the fleet goes back`,
        );
      }
      const revision = shortDigest(digest);
      const old = status.instances.filter((instance) => instance.revision !== revision);
      if (status.status === 'complete' && old.length === 0 && status.ready >= status.size) {
        return `${status.ready}/${status.size} instances run ${digest} after ${Math.round((this.parts.clock.now() - started) / 1000)} s`;
      }
      if (this.parts.clock.now() > deadline) {
        throw new PipelineError(
          'ROLLOUT_FAILED',
          `the rollout of ${digest} did not complete in ${Math.round((deadline - started) / 1000)} s (${status.status}, ${status.ready}/${status.size} ready)`,
        );
      }
      await new Promise<void>((resolve) => this.parts.clock.setTimer(500, resolve));
    }
  }

  private ended(run: PipelineRun | undefined, spec?: Spec): void {
    if (!run) return;
    this.parts.journal.append({
      actor: this.parts.actor,
      action: 'pipeline-end',
      service: run.service,
      ...(run.digest ? { digest: run.digest } : {}),
      details: {
        run: run.id,
        status: run.status,
        ...(run.stage ? { stage: run.stage } : {}),
        ...(run.error ? { error: run.error } : {}),
        ...(run.timeToRemediateMs !== undefined ? { timeToRemediateMs: run.timeToRemediateMs } : {}),
      },
    });
    this.parts.log.info(
      { run: run.id, service: run.service, status: run.status, stage: run.stage, error: run.error },
      'remediation run settled',
    );
    this.parts.notify?.(spec ?? this.specs.get(run.service), run);
  }

  /** The spec's `watch.updates.interval`, reading the spec when the loop has not yet. */
  private async intervalOf(source: PipelineSource): Promise<number> {
    if (!this.specs.has(source.service)) {
      try {
        this.specs.set(source.service, (await this.parts.openSpec(source.specPath)).loaded.spec);
      } catch {
        // The check itself reports a spec that does not load.
      }
    }
    return this.specs.get(source.service)?.watch.updates?.intervalSeconds ?? defaultUpdatesIntervalSeconds;
  }

  private sourceOf(service: string): PipelineSource | undefined {
    return this.parts.runs.sources().find((source) => source.service === service);
  }

  private iso(): string {
    return new Date(this.parts.clock.now()).toISOString();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The runs as herd.db holds them, for a control plane whose fleets have not started (none exist
 * yet): `herd pipeline ls` reads them without starting the engine, and a check says why nothing runs.
 */
export class RecordedRemediation implements Remediation {
  constructor(
    private readonly records: RemediationStore,
    private readonly rank: RemediationLoopParts['percentiles'],
  ) {}

  async check(options: { service?: string } = {}): Promise<CheckOutcome[]> {
    return this.records
      .sources()
      .filter((source) => options.service === undefined || source.service === options.service)
      .map((source) => ({
        service: source.service,
        findings: [],
        skipped: `${source.service} has no fleet yet`,
      }));
  }

  runs(filter: { service?: string; limit?: number } = {}): PipelineRun[] {
    return this.records.list(filter);
  }

  run(id: number): PipelineRun | undefined {
    return this.records.get(id);
  }

  async approve(id: number): Promise<PipelineRun> {
    const run = this.records.get(id);
    if (!run) throw new PipelineError('RUN_NOT_FOUND', `no pipeline run ${id}`);
    throw new PipelineError(
      'RUN_NOT_AWAITING_APPROVAL',
      `pipeline run ${id} is ${run.status}: expected one awaiting approval`,
    );
  }

  times(service: string): RemediationTimes {
    return timesOf(service, this.records.remediationTimes(service), this.rank);
  }

  async stop(): Promise<void> {}
}

function timesOf(
  service: string,
  values: number[],
  rank: RemediationLoopParts['percentiles'],
): RemediationTimes {
  const ranked = rank(values);
  if (!ranked) return { service, count: 0 };
  const { p50, p90, max } = ranked;
  return {
    service,
    count: values.length,
    lastMs: values.at(-1) as number,
    p50Ms: p50,
    p90Ms: p90,
    maxMs: max,
  };
}
