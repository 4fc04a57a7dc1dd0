/**
 * An in-memory stand-in for the remediation loop, for the route tests only: the routes' own logic
 * (validation, permissions, the actor, statuses, the answers' shape) is what they test, and the
 * loop's is tested in src/pipeline over real parts. It keeps runs as it is handed them and records
 * what it was asked.
 */
import { digestA, digestB, digestC } from '../fleet/controller.test-support.js';
import {
  type CheckOutcome,
  PipelineError,
  type PipelineRun,
  type Remediation,
  type RemediationTimes,
  type UpdateFinding,
} from '../pipeline/index.js';

export class MemoryRemediation implements Remediation {
  readonly checks: { service?: string; actor?: string }[] = [];
  readonly approvals: { id: number; actor: string }[] = [];
  private readonly byId = new Map<number, PipelineRun>();

  constructor(
    runs: PipelineRun[] = sampleRuns(),
    private readonly outcomes: CheckOutcome[] = sampleOutcomes(),
    private readonly timesByService: Record<string, RemediationTimes> = sampleTimes(),
  ) {
    for (const run of runs) this.byId.set(run.id, structuredClone(run));
  }

  async check(options: { service?: string; actor?: string } = {}): Promise<CheckOutcome[]> {
    this.checks.push(options);
    return this.outcomes.filter((outcome) => !options.service || outcome.service === options.service);
  }

  runs(filter: { service?: string; limit?: number } = {}): PipelineRun[] {
    return [...this.byId.values()]
      .filter((run) => !filter.service || run.service === filter.service)
      .sort((a, b) => b.id - a.id)
      .slice(0, filter.limit ?? Number.POSITIVE_INFINITY);
  }

  run(id: number): PipelineRun | undefined {
    return this.byId.get(id);
  }

  async approve(id: number, options: { actor: string }): Promise<PipelineRun> {
    const run = this.byId.get(id);
    if (!run) throw new PipelineError('RUN_NOT_FOUND', `no pipeline run ${id}`);
    if (run.status !== 'awaiting-approval') {
      throw new PipelineError(
        'RUN_NOT_AWAITING_APPROVAL',
        `run ${id} is ${run.status}, not awaiting approval`,
      );
    }
    this.approvals.push({ id, ...options });
    run.status = 'running';
    run.stage = 'promote';
    return run;
  }

  times(service: string): RemediationTimes {
    return this.timesByService[service] ?? { service, count: 0 };
  }

  async stop(): Promise<void> {}
}

export const opensslFinding: UpdateFinding = {
  service: 'web',
  digest: digestA,
  kind: 'package-update',
  summary: 'openssl 3.0.11-1~deb12u1 → 3.0.11-1~deb12u2 (CVE-2023-5678, high)',
  packages: [
    {
      name: 'openssl',
      from: '3.0.11-1~deb12u1',
      to: '3.0.11-1~deb12u2',
      suite: 'bookworm-security',
      cvesFixed: ['CVE-2023-5678'],
      urgency: 'high',
      visibleAt: '2026-12-03T10:00:00.000Z',
    },
  ],
  cvesFixed: ['CVE-2023-5678'],
  security: true,
  urgency: 'high',
  visibleAt: '2026-12-03T10:00:00.000Z',
  detectedAt: '2026-12-03T10:00:30.000Z',
  actionable: true,
};

/** Run 1 succeeded for web, run 2 is held for approval for web, run 3 failed at accept for api. */
export function sampleRuns(): PipelineRun[] {
  const passed = (stage: PipelineRun['stages'][number]['stage'], second: number, output = '') => ({
    stage,
    status: 'passed' as const,
    startedAt: `2026-12-03T10:01:${String(second).padStart(2, '0')}.000Z`,
    endedAt: `2026-12-03T10:01:${String(second + 1).padStart(2, '0')}.000Z`,
    durationMs: 1000,
    output,
  });
  return [
    {
      id: 1,
      service: 'web',
      status: 'succeeded',
      stage: 'rollout',
      trigger: 'schedule',
      findings: [opensslFinding],
      specDigest: `sha256:${'5'.repeat(64)}`,
      fromDigest: digestA,
      digest: digestB,
      createdAt: '2026-12-03T10:01:00.000Z',
      endedAt: '2026-12-03T10:01:32.000Z',
      stages: [passed('lock', 0, 'openssl 3.0.11-1~deb12u1 → 3.0.11-1~deb12u2'), passed('build', 2)],
      timeToRemediateMs: 92_000,
    },
    {
      id: 2,
      service: 'web',
      status: 'awaiting-approval',
      stage: 'approve',
      trigger: 'check',
      findings: [opensslFinding],
      specDigest: `sha256:${'5'.repeat(64)}`,
      fromDigest: digestB,
      digest: digestC,
      createdAt: '2026-12-03T11:00:00.000Z',
      stages: [
        passed('release', 10, 'released at accepted'),
        {
          stage: 'approve',
          status: 'running',
          startedAt: '2026-12-03T11:00:12.000Z',
          output: 'held for herd approve 2',
        },
      ],
    },
    {
      id: 3,
      service: 'api',
      status: 'failed',
      stage: 'accept',
      trigger: 'schedule',
      findings: [{ ...opensslFinding, service: 'api' }],
      specDigest: `sha256:${'5'.repeat(64)}`,
      fromDigest: digestA,
      createdAt: '2026-12-03T12:00:00.000Z',
      endedAt: '2026-12-03T12:00:40.000Z',
      error: 'accept: GET /healthz answered 500, expected 200',
      stages: [
        {
          stage: 'accept',
          status: 'failed',
          startedAt: '2026-12-03T12:00:20.000Z',
          endedAt: '2026-12-03T12:00:40.000Z',
          durationMs: 20_000,
          output: 'GET /healthz: 500',
        },
      ],
    },
  ];
}

export function sampleOutcomes(): CheckOutcome[] {
  const [succeeded] = sampleRuns();
  return [
    { service: 'web', findings: [opensslFinding], ...(succeeded ? { run: succeeded } : {}) },
    {
      service: 'api',
      findings: [{ ...opensslFinding, service: 'api' }],
      skipped: 'outside its maintenance window',
    },
    { service: 'db', findings: [] },
  ];
}

export function sampleTimes(): Record<string, RemediationTimes> {
  return { web: { service: 'web', count: 3, lastMs: 92_000, p50Ms: 95_000, p90Ms: 130_000, maxMs: 131_000 } };
}
