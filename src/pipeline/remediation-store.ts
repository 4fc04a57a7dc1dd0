/**
 * The remediation runs in herd.db (migration 11): one row per run, one per stage it reached, and
 * where each fleet's spec lives. Every write is one statement or one transaction, so a control
 * plane killed at any moment leaves a run at a whole stage, which `interruptedRuns` finds again.
 */
import type { Database } from 'better-sqlite3';
import type { Digest } from '../oci/index.js';
import type { PipelineRun, RunStage, RunStageRecord, RunStatus, UpdateFinding } from './remediation-types.js';

/** What `herd pipeline logs` keeps of a stage's output: enough to see why, never a whole build log. */
export const maxStageOutput = 16 * 1024;

interface RunRow {
  id: number;
  service: string;
  status: RunStatus;
  stage: RunStage | null;
  trigger: 'schedule' | 'check';
  findings: string;
  target: string;
  spec_digest: string;
  from_digest: string;
  digest: string | null;
  created_at: string;
  ended_at: string | null;
  error: string | null;
  interrupted: number;
  ttr_ms: number | null;
}

interface StageRow {
  stage: RunStage;
  status: RunStageRecord['status'];
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  output: string;
}

export interface PipelineSource {
  service: string;
  specPath: string;
}

export class RemediationStore {
  constructor(private readonly db: Database) {}

  begin(run: {
    service: string;
    trigger: PipelineRun['trigger'];
    findings: UpdateFinding[];
    target: string;
    specDigest: string;
    fromDigest: Digest;
    at: string;
  }): number {
    const result = this.db
      .prepare(
        `INSERT INTO pipeline_runs (service, status, trigger, findings, target, spec_digest, from_digest, created_at)
         VALUES (?, 'running', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.service,
        run.trigger,
        JSON.stringify(run.findings),
        run.target,
        run.specDigest,
        run.fromDigest,
        run.at,
      );
    return Number(result.lastInsertRowid);
  }

  /** The stage starts: the run is at it, and its row says running (again, after a resume). */
  stageStarted(id: number, stage: RunStage, at: string): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO pipeline_stages (run, stage, status, started_at) VALUES (?, ?, 'running', ?)
           ON CONFLICT (run, stage) DO UPDATE SET status = 'running', started_at = excluded.started_at,
             ended_at = NULL, duration_ms = NULL`,
        )
        .run(id, stage, at);
      this.db.prepare(`UPDATE pipeline_runs SET stage = ?, status = 'running' WHERE id = ?`).run(stage, id);
    })();
  }

  stageEnded(
    id: number,
    stage: RunStage,
    outcome: { status: 'passed' | 'failed' | 'skipped'; at: string; durationMs: number; output: string },
  ): void {
    this.db
      .prepare(
        `UPDATE pipeline_stages SET status = ?, ended_at = ?, duration_ms = ?, output = output || ?
         WHERE run = ? AND stage = ?`,
      )
      .run(outcome.status, outcome.at, outcome.durationMs, capped(outcome.output), id, stage);
  }

  setDigest(id: number, digest: Digest): void {
    this.db.prepare('UPDATE pipeline_runs SET digest = ? WHERE id = ?').run(digest, id);
  }

  awaitApproval(id: number): void {
    this.db
      .prepare(`UPDATE pipeline_runs SET status = 'awaiting-approval', stage = 'approve' WHERE id = ?`)
      .run(id);
  }

  finish(
    id: number,
    outcome:
      | { status: 'succeeded'; at: string; ttrMs?: number }
      | { status: 'failed'; at: string; error: string; interrupted?: boolean },
  ): void {
    // A stage still running (a run ended at start after a stop) ends with the run, as failed.
    this.db
      .prepare(
        `UPDATE pipeline_stages SET status = 'failed', ended_at = ?,
           output = output || ? WHERE run = ? AND status = 'running'`,
      )
      .run(
        outcome.at,
        outcome.status === 'failed' && outcome.interrupted ? 'interrupted: the control plane stopped' : '',
        id,
      );
    this.db
      .prepare(
        'UPDATE pipeline_runs SET status = ?, ended_at = ?, error = ?, ttr_ms = ?, interrupted = ? WHERE id = ?',
      )
      .run(
        outcome.status,
        outcome.at,
        outcome.status === 'failed' ? outcome.error : null,
        outcome.status === 'succeeded' && outcome.ttrMs !== undefined ? Math.round(outcome.ttrMs) : null,
        outcome.status === 'failed' && outcome.interrupted ? 1 : 0,
        id,
      );
  }

  get(id: number): PipelineRun | undefined {
    const row = this.db.prepare('SELECT * FROM pipeline_runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? this.toRun(row) : undefined;
  }

  /** Newest first. */
  list(filter: { service?: string; limit?: number } = {}): PipelineRun[] {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 1000);
    const rows = (
      filter.service === undefined
        ? this.db.prepare('SELECT * FROM pipeline_runs ORDER BY id DESC LIMIT ?').all(limit)
        : this.db
            .prepare('SELECT * FROM pipeline_runs WHERE service = ? ORDER BY id DESC LIMIT ?')
            .all(filter.service, limit)
    ) as RunRow[];
    return rows.map((row) => this.toRun(row));
  }

  /** Runs still going or waiting for approval: at most one per service. */
  active(): PipelineRun[] {
    const rows = this.db
      .prepare(`SELECT * FROM pipeline_runs WHERE status IN ('running', 'awaiting-approval') ORDER BY id`)
      .all() as RunRow[];
    return rows.map((row) => this.toRun(row));
  }

  /**
   * Whether a run for this target already failed on its own (not because the control plane
   * stopped): the same versions would fail the same way, so the monitor does not start it again.
   */
  failedFor(service: string, target: string): PipelineRun | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM pipeline_runs WHERE service = ? AND target = ? AND status = 'failed' AND interrupted = 0
         ORDER BY id DESC LIMIT 1`,
      )
      .get(service, target) as RunRow | undefined;
    return row ? this.toRun(row) : undefined;
  }

  /** Time-to-remediate of the service's succeeded runs, oldest first. */
  remediationTimes(service: string): number[] {
    const rows = this.db
      .prepare(
        `SELECT ttr_ms FROM pipeline_runs WHERE service = ? AND status = 'succeeded' AND ttr_ms IS NOT NULL
         ORDER BY id`,
      )
      .all(service) as { ttr_ms: number }[];
    return rows.map((row) => row.ttr_ms);
  }

  /** `herd up` (or `herd serve --spec`) says where a fleet's spec lives; the latest wins. */
  setSource(service: string, specPath: string, at: string): void {
    this.db
      .prepare(
        `INSERT INTO pipeline_sources (service, spec_path, added_at) VALUES (?, ?, ?)
         ON CONFLICT (service) DO UPDATE SET spec_path = excluded.spec_path, added_at = excluded.added_at`,
      )
      .run(service, specPath, at);
  }

  sources(): PipelineSource[] {
    const rows = this.db
      .prepare('SELECT service, spec_path FROM pipeline_sources ORDER BY service')
      .all() as { service: string; spec_path: string }[];
    return rows.map((row) => ({ service: row.service, specPath: row.spec_path }));
  }

  private toRun(row: RunRow): PipelineRun {
    const stages = (
      this.db
        .prepare(
          'SELECT stage, status, started_at, ended_at, duration_ms, output FROM pipeline_stages WHERE run = ? ORDER BY started_at, rowid',
        )
        .all(row.id) as StageRow[]
    ).map(
      (stage): RunStageRecord => ({
        stage: stage.stage,
        status: stage.status,
        startedAt: stage.started_at,
        ...(stage.ended_at !== null ? { endedAt: stage.ended_at } : {}),
        ...(stage.duration_ms !== null ? { durationMs: stage.duration_ms } : {}),
        output: stage.output,
      }),
    );
    return {
      id: row.id,
      service: row.service,
      status: row.status,
      ...(row.stage !== null ? { stage: row.stage } : {}),
      trigger: row.trigger,
      findings: JSON.parse(row.findings) as UpdateFinding[],
      specDigest: row.spec_digest,
      fromDigest: row.from_digest as Digest,
      ...(row.digest !== null ? { digest: row.digest as Digest } : {}),
      createdAt: row.created_at,
      ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
      ...(row.error !== null ? { error: row.error } : {}),
      stages,
      ...(row.ttr_ms !== null ? { timeToRemediateMs: row.ttr_ms } : {}),
    };
  }
}

function capped(output: string): string {
  if (output.length <= maxStageOutput) return output;
  return `${output.slice(0, maxStageOutput)}\n… (${output.length - maxStageOutput} more characters not kept)`;
}
