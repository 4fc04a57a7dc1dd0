/**
 * Fleets' desired state and revision history in herd.db (tables `fleets`, `fleet_history`,
 * migrations 3 and 10). Instances are not stored: the engine's labels say what runs, so a restarted
 * controller adopts it. A rollout's start or end and its history row commit in one transaction.
 */
import type { Database, Statement } from 'better-sqlite3';
import { parseStoredTemplate } from './stored-template.js';
import type { FleetStatusKind, FleetTemplate } from './types.js';

export interface StoredFleet {
  service: string;
  revision: string;
  digest: `sha256:${string}`;
  size: number;
  template: FleetTemplate;
  status: FleetStatusKind;
  /** Epoch ms; set while a rollout runs. */
  rollout?: { startedAt: number; progressAt: number };
  /** Set while `herd pause` holds the rollout (epoch ms, and who), until `herd resume`; `save` keeps it. */
  paused?: { at: number; actor: string };
}

export type HistoryOutcome = 'started' | 'complete' | 'failed';

export interface HistoryEntry {
  seq: number;
  revision: string;
  digest: `sha256:${string}`;
  outcome: HistoryOutcome;
  /** started: rollout, rollback or revert; failed: health or deadline; complete: rollout. */
  reason: string;
  /** The template the revision ran with. */
  template: FleetTemplate;
  at: number;
}

interface FleetRow {
  service: string;
  revision: string;
  digest: string;
  size: number;
  spec_json: string;
  status: string;
  rollout_started_at: string | null;
  progress_at: string | null;
  paused_at: string | null;
  paused_by: string | null;
}

interface HistoryRow {
  seq: number;
  revision: string;
  digest: string;
  outcome: string;
  reason: string;
  spec_json: string;
  at: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class FleetStore {
  /** Prepared once: the controller reads every fleet each sync (100 fleets in bench/controller). */
  private readonly statements = new Map<string, Statement>();
  /**
   * Templates read back, by their stored JSON: the same text is validated once, not on every sync.
   * Frozen, since every caller shares the one copy.
   */
  private readonly templates = new Map<string, FleetTemplate>();
  /** `knownRevisions` by service, as last read. */
  private readonly revisions = new Map<string, ReadonlySet<string>>();

  constructor(private readonly db: Database) {}

  get(service: string): StoredFleet | undefined {
    const row = this.prepared('SELECT * FROM fleets WHERE service = ?').get(service) as FleetRow | undefined;
    return row && toFleet(row, this.template);
  }

  list(): StoredFleet[] {
    return (this.prepared('SELECT * FROM fleets ORDER BY service').all() as FleetRow[]).map((row) =>
      toFleet(row, this.template),
    );
  }

  /** Writes the fleet's desired state and appends `history` rows, in one transaction. */
  save(fleet: StoredFleet, options: { now: number; history?: Omit<HistoryEntry, 'seq' | 'at'>[] }): void {
    const write = this.db.transaction(() => {
      this.prepared(
        `INSERT INTO fleets (service, revision, digest, size, spec_json, status, rollout_started_at, progress_at, updated_at)
           VALUES (@service, @revision, @digest, @size, @spec_json, @status, @rollout_started_at, @progress_at, @updated_at)
           ON CONFLICT (service) DO UPDATE SET revision = excluded.revision, digest = excluded.digest,
             size = excluded.size, spec_json = excluded.spec_json, status = excluded.status,
             rollout_started_at = excluded.rollout_started_at, progress_at = excluded.progress_at,
             updated_at = excluded.updated_at`,
      ).run({
        service: fleet.service,
        revision: fleet.revision,
        digest: fleet.digest,
        size: fleet.size,
        spec_json: JSON.stringify(fleet.template),
        status: fleet.status,
        rollout_started_at: fleet.rollout ? iso(fleet.rollout.startedAt) : null,
        progress_at: fleet.rollout ? iso(fleet.rollout.progressAt) : null,
        updated_at: iso(options.now),
      });
      for (const entry of options.history ?? []) this.append(fleet.service, { ...entry, at: options.now });
    });
    write.immediate();
    if (options.history?.length) this.revisions.delete(fleet.service);
  }

  /** Pauses the fleet's rollout (`paused`) or resumes it (undefined); no other column changes. */
  setPaused(service: string, paused: { at: number; actor: string } | undefined): void {
    this.prepared('UPDATE fleets SET paused_at = ?, paused_by = ? WHERE service = ?').run(
      paused ? iso(paused.at) : null,
      paused?.actor ?? null,
      service,
    );
  }

  history(service: string): HistoryEntry[] {
    const rows = this.prepared(
      'SELECT seq, revision, digest, outcome, reason, spec_json, at FROM fleet_history WHERE service = ? ORDER BY seq',
    ).all(service) as HistoryRow[];
    return rows.map((row) => toHistoryEntry(row, service, this.template));
  }

  /**
   * The latest revision that completed a rollout, other than `except` (the one running or failing
   * now), and that has not failed since: a blue-green revision completes at the switch and can
   * still fail while the old fleet bakes.
   */
  lastGood(service: string, except: string): HistoryEntry | undefined {
    const row = this.prepared(
      `SELECT seq, revision, digest, outcome, reason, spec_json, at FROM fleet_history AS good
         WHERE service = ? AND outcome = 'complete' AND revision != ?
           AND NOT EXISTS (SELECT 1 FROM fleet_history AS later WHERE later.service = good.service
             AND later.revision = good.revision AND later.outcome = 'failed' AND later.seq > good.seq)
         ORDER BY seq DESC LIMIT 1`,
    ).get(service, except) as HistoryRow | undefined;
    return row && toHistoryEntry(row, service, this.template);
  }

  /**
   * The latest rollout that completed, of any revision: when, and whether a rollout, a rollback or a
   * revert started it. What a blue-green fleet serves, and whether its old fleet bakes.
   */
  lastComplete(service: string): { revision: string; at: number; startedBy: string } | undefined {
    const row = this.prepared(
      `SELECT done.revision, done.at, (SELECT started.reason FROM fleet_history AS started
           WHERE started.service = done.service AND started.outcome = 'started' AND started.seq < done.seq
           ORDER BY started.seq DESC LIMIT 1) AS started_by
         FROM fleet_history AS done WHERE service = ? AND outcome = 'complete' ORDER BY seq DESC LIMIT 1`,
    ).get(service) as { revision: string; at: string; started_by: string | null } | undefined;
    return row && { revision: row.revision, at: Date.parse(row.at), startedBy: row.started_by ?? 'rollout' };
  }

  /**
   * Every revision the service ever rolled out; an instance of any other is an orphan. Kept after
   * the first read and renewed by `save`: the history is appended only through this store (one
   * control plane per HERD_HOME), and every sync of every fleet asks.
   */
  knownRevisions(service: string): ReadonlySet<string> {
    let known = this.revisions.get(service);
    if (!known) {
      const revisions = this.prepared('SELECT DISTINCT revision FROM fleet_history WHERE service = ?')
        .pluck()
        .all(service) as string[];
      known = new Set(revisions);
      this.revisions.set(service, known);
    }
    return known;
  }

  private prepared(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private readonly template = (json: string, where: string): FleetTemplate => {
    const known = this.templates.get(json);
    if (known) return known;
    const template = deepFreeze(parseStoredTemplate(json, where));
    // A bound, not an eviction policy: a control plane has a few fleets with a few revisions each.
    if (this.templates.size >= 1024) this.templates.clear();
    this.templates.set(json, template);
    return template;
  };

  private append(service: string, entry: Omit<HistoryEntry, 'seq'>): void {
    this.prepared(
      `INSERT INTO fleet_history (service, seq, revision, digest, outcome, reason, spec_json, at)
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM fleet_history WHERE service = ?), ?, ?, ?, ?, ?, ?)`,
    ).run(
      service,
      service,
      entry.revision,
      entry.digest,
      entry.outcome,
      entry.reason,
      JSON.stringify(entry.template),
      iso(entry.at),
    );
  }
}

type TemplateReader = (json: string, where: string) => FleetTemplate;

function toFleet(row: FleetRow, readTemplate: TemplateReader): StoredFleet {
  return {
    service: row.service,
    revision: row.revision,
    digest: row.digest as `sha256:${string}`,
    size: row.size,
    template: readTemplate(row.spec_json, `the template of fleet ${row.service}`),
    status: row.status as FleetStatusKind,
    ...(row.rollout_started_at && row.progress_at
      ? {
          rollout: { startedAt: Date.parse(row.rollout_started_at), progressAt: Date.parse(row.progress_at) },
        }
      : {}),
    ...(row.paused_at
      ? { paused: { at: Date.parse(row.paused_at), actor: row.paused_by ?? 'unknown' } }
      : {}),
  };
}

function toHistoryEntry(row: HistoryRow, service: string, readTemplate: TemplateReader): HistoryEntry {
  return {
    seq: row.seq,
    revision: row.revision,
    digest: row.digest as `sha256:${string}`,
    outcome: row.outcome as HistoryOutcome,
    reason: row.reason,
    template: readTemplate(row.spec_json, `the template of ${service}'s history entry ${row.seq}`),
    at: Date.parse(row.at),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const one of Object.values(value)) deepFreeze(one);
  }
  return value;
}
