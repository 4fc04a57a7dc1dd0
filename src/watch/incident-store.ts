/**
 * Incidents in herd.db (table `incidents`, migration 4; `quarantine`, migration 6): one per
 * instance and kind, with when it was detected, how it left the front door and when the instance
 * was gone. Opening twice (a second exec event for the same session) changes nothing.
 */
import type { Database } from 'better-sqlite3';

/** `process`: something ran that the allowlist does not name (migration 7 lets the column say so). */
export type IncidentKind = 'drift' | 'exec' | 'process' | 'untrusted';

export interface Incident {
  id: number;
  service: string;
  instance: string;
  digest: string;
  kind: IncidentKind;
  /** ISO 8601 UTC. */
  detectedAt: string;
  replacedAt?: string;
  evidenceDigest?: string;
  journalId?: number;
  summary: string;
  /**
   * How the instance left the front door when this was detected: `out-of-door` at once, or
   * `kept-serving` (no other instance was ready) until its replacement was. Absent for an untrusted
   * instance, which is never ready, and when the fleet controller could not be asked.
   */
  quarantine?: 'out-of-door' | 'kept-serving';
}

interface Row {
  id: number;
  service: string;
  instance: string;
  digest: string;
  kind: IncidentKind;
  detected_at: string;
  replaced_at: string | null;
  evidence_digest: string | null;
  journal_id: number | null;
  summary: string;
  quarantine: 'out-of-door' | 'kept-serving' | null;
}

export class IncidentStore {
  constructor(private readonly db: Database) {}

  /** Returns the new incident, or undefined when this instance already has one of this kind. */
  open(incident: Omit<Incident, 'id' | 'replacedAt'>): Incident | undefined {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO incidents (service, instance, digest, kind, detected_at, evidence_digest, journal_id, summary, quarantine)
         VALUES (@service, @instance, @digest, @kind, @detectedAt, @evidenceDigest, @journalId, @summary, @quarantine)`,
      )
      .run({
        ...incident,
        evidenceDigest: incident.evidenceDigest ?? null,
        journalId: incident.journalId ?? null,
        quarantine: incident.quarantine ?? null,
      });
    return result.changes === 0 ? undefined : { ...incident, id: Number(result.lastInsertRowid) };
  }

  has(instance: string, kind: IncidentKind): boolean {
    return (
      this.db.prepare('SELECT 1 FROM incidents WHERE instance = ? AND kind = ?').get(instance, kind) !==
      undefined
    );
  }

  /** Sets the replacement time of the instance's open incidents; returns how many. */
  replaced(instance: string, at: string): number {
    return this.db
      .prepare('UPDATE incidents SET replaced_at = ? WHERE instance = ? AND replaced_at IS NULL')
      .run(at, instance).changes;
  }

  /** Instances with an incident still open. */
  /** Each instance with an incident not yet ended, and that incident's kind. */
  stillOpen(): { instance: string; kind: IncidentKind }[] {
    return this.db
      .prepare('SELECT DISTINCT instance, kind FROM incidents WHERE replaced_at IS NULL')
      .all() as { instance: string; kind: IncidentKind }[];
  }

  openInstances(): string[] {
    return (
      this.db.prepare('SELECT DISTINCT instance FROM incidents WHERE replaced_at IS NULL').all() as {
        instance: string;
      }[]
    ).map((row) => row.instance);
  }

  list(options: { service?: string; limit?: number } = {}): Incident[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM incidents WHERE (@service IS NULL OR service = @service) ORDER BY id DESC LIMIT @limit`,
      )
      .all({ service: options.service ?? null, limit: options.limit ?? 100 }) as Row[];
    return rows.map((row) => ({
      id: row.id,
      service: row.service,
      instance: row.instance,
      digest: row.digest,
      kind: row.kind,
      detectedAt: row.detected_at,
      ...(row.replaced_at ? { replacedAt: row.replaced_at } : {}),
      ...(row.evidence_digest ? { evidenceDigest: row.evidence_digest } : {}),
      ...(row.journal_id !== null ? { journalId: row.journal_id } : {}),
      summary: row.summary,
      ...(row.quarantine ? { quarantine: row.quarantine } : {}),
    }));
  }
}
