/**
 * Debug sessions in herd.db (table `debug_sessions`, migration 9): the taint that outlives the
 * control plane. An instance with a session whose `destroyed_at` is unset never serves again; a
 * restarted control plane destroys it first (`DebugSessions.recover`).
 */
import type { Database } from 'better-sqlite3';
import type { SessionEnd } from './session-frames.js';

export interface DebugSessionRow {
  id: string;
  service: string;
  instance: string;
  digest: string;
  actor: string;
  reason: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  expiresAt: string;
  endedAt?: string;
  ended?: SessionEnd['ended'];
  exitCode?: number;
  transcript?: string;
  destroyedAt?: string;
}

interface Row {
  id: string;
  service: string;
  instance: string;
  digest: string;
  actor: string;
  reason: string;
  started_at: string;
  expires_at: string;
  ended_at: string | null;
  ended: SessionEnd['ended'] | null;
  exit_code: number | null;
  transcript: string | null;
  destroyed_at: string | null;
}

export class DebugSessionStore {
  constructor(private readonly db: Database) {}

  begin(row: Omit<DebugSessionRow, 'endedAt' | 'ended' | 'exitCode' | 'transcript' | 'destroyedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO debug_sessions (id, service, instance, digest, actor, reason, started_at, expires_at)
         VALUES (@id, @service, @instance, @digest, @actor, @reason, @startedAt, @expiresAt)`,
      )
      .run(row);
  }

  /** How it ended; set once. */
  end(
    id: string,
    outcome: { at: string; ended: SessionEnd['ended']; exitCode?: number; transcript?: string },
  ): void {
    this.db
      .prepare(
        `UPDATE debug_sessions SET ended_at = @at, ended = @ended, exit_code = @exitCode, transcript = @transcript
         WHERE id = @id AND ended_at IS NULL`,
      )
      .run({
        id,
        at: outcome.at,
        ended: outcome.ended,
        exitCode: outcome.exitCode ?? null,
        transcript: outcome.transcript ?? null,
      });
  }

  destroyed(id: string, at: string): void {
    this.db
      .prepare('UPDATE debug_sessions SET destroyed_at = ? WHERE id = ? AND destroyed_at IS NULL')
      .run(at, id);
  }

  /** Sessions whose instance may still exist: tainted. */
  tainted(): DebugSessionRow[] {
    return (
      this.db
        .prepare('SELECT * FROM debug_sessions WHERE destroyed_at IS NULL ORDER BY started_at')
        .all() as Row[]
    ).map(rowOf);
  }

  get(id: string): DebugSessionRow | undefined {
    const row = this.db.prepare('SELECT * FROM debug_sessions WHERE id = ?').get(id) as Row | undefined;
    return row ? rowOf(row) : undefined;
  }

  list(options: { limit?: number } = {}): DebugSessionRow[] {
    return (
      this.db
        .prepare('SELECT * FROM debug_sessions ORDER BY started_at DESC LIMIT ?')
        .all(options.limit ?? 100) as Row[]
    ).map(rowOf);
  }
}

function rowOf(row: Row): DebugSessionRow {
  return {
    id: row.id,
    service: row.service,
    instance: row.instance,
    digest: row.digest,
    actor: row.actor,
    reason: row.reason,
    startedAt: row.started_at,
    expiresAt: row.expires_at,
    ...(row.ended_at ? { endedAt: row.ended_at } : {}),
    ...(row.ended ? { ended: row.ended } : {}),
    ...(row.exit_code !== null ? { exitCode: row.exit_code } : {}),
    ...(row.transcript ? { transcript: row.transcript } : {}),
    ...(row.destroyed_at ? { destroyedAt: row.destroyed_at } : {}),
  };
}
