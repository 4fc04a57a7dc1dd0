/**
 * Releases and revocations in herd.db. Every write appends its journal entry in the same
 * transaction, so the catalog never says something the journal does not. The rules are in plan.ts;
 * the signature check is injected (src/trust), so this module does no crypto.
 */
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Journal, JournalRow } from '../journal/index.js';
import type { Digest } from '../oci/index.js';
import { CatalogError } from './errors.js';
import {
  type AgreementResult,
  type CatalogRecord,
  checkJournalAgreement,
  type UncitedEntry,
} from './journal-agreement.js';
import { planRelease, planRevoke } from './plan.js';
import type { Stage } from './stages.js';
import type {
  CatalogEntry,
  HistoryEvent,
  Release,
  ReleaseOutcome,
  Revocation,
  RevokeOutcome,
  SignatureCheck,
} from './types.js';

export interface ReleaseOptions {
  stage: Stage;
  actor: string;
  verifySignature: SignatureCheck;
}

export interface RevokeOptions {
  reason: string;
  actor: string;
}

const releaseColumns = 'service, digest, stage, actor, at, journal_id AS journalId';
const revocationColumns = 'service, digest, reason, actor, at, journal_id AS journalId';

export class Catalog {
  readonly #db: Database;
  readonly #journal: Journal;

  /** The catalog writes in the journal's database, so a release and its entry commit together. */
  constructor(journal: Journal) {
    this.#db = journal.db;
    this.#journal = journal;
  }

  async release(service: string, digest: Digest, options: ReleaseOptions): Promise<ReleaseOutcome> {
    const request = { service, digest, stage: options.stage };
    // Refuse a revoked digest or a demotion before spending time on the signature.
    planRelease(request, this.#recorded(service, digest));
    await this.#requireSignature(service, digest, options.verifySignature);
    return this.#db
      .transaction((): ReleaseOutcome => {
        // Again under the write lock: a revoke may have committed while the signature was checked.
        const plan = planRelease(request, this.#recorded(service, digest));
        if (plan.kind === 'unchanged') return plan;
        const journalEntry = this.#journal.append({
          actor: options.actor,
          action: 'release',
          service,
          digest,
          details: { stage: options.stage, previousStage: plan.previousStage },
        });
        const release: Release = {
          ...request,
          actor: options.actor,
          at: journalEntry.at,
          journalId: journalEntry.id,
        };
        this.#db
          .prepare(
            `INSERT INTO catalog_release (service, digest, stage, actor, at, journal_id)
             VALUES (@service, @digest, @stage, @actor, @at, @journalId)`,
          )
          .run(release);
        return { kind: 'released', release, journalEntry };
      })
      .immediate();
  }

  revoke(service: string, digest: Digest, options: RevokeOptions): RevokeOutcome {
    return this.#db
      .transaction((): RevokeOutcome => {
        const recorded = this.#recorded(service, digest);
        const plan = planRevoke({ service, digest }, recorded);
        if (plan.kind === 'unchanged') return plan;
        const journalEntry = this.#journal.append({
          actor: options.actor,
          action: 'revoke',
          service,
          digest,
          details: { reason: options.reason, stage: recorded.latest?.stage ?? null },
        });
        const revocation: Revocation = {
          service,
          digest,
          reason: options.reason,
          actor: options.actor,
          at: journalEntry.at,
          journalId: journalEntry.id,
        };
        this.#db
          .prepare(
            `INSERT INTO catalog_revocation (digest, service, reason, actor, at, journal_id)
             VALUES (@digest, @service, @reason, @actor, @at, @journalId)`,
          )
          .run(revocation);
        return { kind: 'revoked', revocation, journalEntry };
      })
      .immediate();
  }

  isRevoked(digest: Digest): boolean {
    return this.revocation(digest) !== undefined;
  }

  revocation(digest: Digest): Revocation | undefined {
    return this.#db
      .prepare<[Digest], Revocation>(`SELECT ${revocationColumns} FROM catalog_revocation WHERE digest = ?`)
      .get(digest);
  }

  /**
   * The digest most recently released at `stage` that has not been revoked (it may since have moved
   * further). Revoked digests are skipped so that no caller can pick one to run by forgetting a check.
   */
  current(service: string, stage: Stage): Release | undefined {
    return this.#db
      .prepare<[string, Stage], Release>(
        `SELECT ${releaseColumns} FROM catalog_release
         WHERE service = ? AND stage = ? AND digest NOT IN (SELECT digest FROM catalog_revocation)
         ORDER BY id DESC LIMIT 1`,
      )
      .get(service, stage);
  }

  /** Every digest of one service (or all), at its furthest stage, oldest release first. */
  entries(service?: string): CatalogEntry[] {
    const rows = this.#db
      .prepare<
        { service: string | null },
        Release & { revokedReason: string | null; revokedBy: string | null; revokedAt: string | null }
      >(
        `SELECT r.service, r.digest, r.stage, r.actor, r.at,
                v.reason AS revokedReason, v.actor AS revokedBy, v.at AS revokedAt
         FROM catalog_release r
         JOIN (SELECT MAX(id) AS id FROM catalog_release GROUP BY service, digest) latest ON latest.id = r.id
         LEFT JOIN catalog_revocation v ON v.digest = r.digest
         WHERE @service IS NULL OR r.service = @service
         ORDER BY r.service, r.id`,
      )
      .all({ service: service ?? null });
    return rows.map((row) => {
      const entry: CatalogEntry = {
        service: row.service,
        digest: row.digest,
        stage: row.stage,
        releasedAt: row.at,
        releasedBy: row.actor,
      };
      if (row.revokedReason !== null) {
        entry.revoked = { reason: row.revokedReason, actor: row.revokedBy ?? '', at: row.revokedAt ?? '' };
      }
      return entry;
    });
  }

  /** Every release and revocation touching the service's digests, in journal order. */
  history(service: string): HistoryEvent[] {
    const releases = this.#db
      .prepare<[string], Release>(`SELECT ${releaseColumns} FROM catalog_release WHERE service = ?`)
      .all(service)
      .map((release): HistoryEvent => ({ kind: 'release', ...release }));
    const revocations = this.#db
      .prepare<{ service: string }, Revocation>(
        `SELECT ${revocationColumns} FROM catalog_revocation
         WHERE service = @service OR digest IN (SELECT digest FROM catalog_release WHERE service = @service)`,
      )
      .all({ service })
      .map((revocation): HistoryEvent => ({ kind: 'revoke', ...revocation }));
    return [...releases, ...revocations].sort((a, b) => a.journalId - b.journalId);
  }

  /**
   * Whether every release and revocation row has its journal entry (same service, digest, stage or
   * reason, hashed and linked into the chain), and every release and revoke entry of the journal its
   * row. Reads every catalog row and scans the journal once; hashes only the entries the catalog
   * cites after `anchoredThrough` (see journal-agreement.ts), so admission can afford it.
   */
  checkJournalAgreement(options: { anchoredThrough?: number } = {}): AgreementResult {
    return this.#db.transaction(() => {
      const head = this.#journal.head();
      const records = this.#db
        .prepare<[], CatalogRecordRow>(
          `SELECT c.kind, c.journalId, c.service, c.digest, c.detail,
                  j.id AS entryId, j.at, j.actor, j.action, j.service AS entryService,
                  j.digest AS entryDigest, j.details, j.prev_hash AS prevHash, j.hash,
                  n.prev_hash AS nextPrevHash
           FROM (SELECT 'release' AS kind, journal_id AS journalId, service, digest, stage AS detail
                   FROM catalog_release
                 UNION ALL
                 SELECT 'revoke', journal_id, service, digest, reason FROM catalog_revocation) c
           LEFT JOIN journal j ON j.id = c.journalId
           LEFT JOIN journal n ON n.id = c.journalId + 1`,
        )
        .all()
        .map(recordOf);
      const uncited = this.#db
        .prepare<[], UncitedEntry>(
          `SELECT j.id, j.action, j.service, j.digest, j.details FROM journal j
           WHERE (j.action = 'revoke'
                  AND NOT EXISTS (SELECT 1 FROM catalog_revocation v WHERE v.journal_id = j.id))
              OR (j.action = 'release'
                  AND NOT EXISTS (SELECT 1 FROM catalog_release r WHERE r.journal_id = j.id))`,
        )
        .all();
      return checkJournalAgreement({ records, uncited, head, ...options });
    })();
  }

  /**
   * sha256 over the catalog rows journaled at or before entry `sequence`. Rows are never updated
   * or deleted, so the value never changes once the journal has passed `sequence`: a journal
   * checkpoint signs it, and a row deleted later changes it, even when its journal entry was
   * edited to hide it.
   */
  digestThrough(sequence: number): string {
    const rows = this.#db
      .prepare<{ sequence: number }, unknown[]>(
        `SELECT 'release', journal_id, service, digest, stage FROM catalog_release WHERE journal_id <= @sequence
         UNION ALL
         SELECT 'revoke', journal_id, service, digest, reason FROM catalog_revocation WHERE journal_id <= @sequence
         ORDER BY 2`,
      )
      .raw()
      .all({ sequence });
    // Each row is an array of strings and integers, for which JSON.stringify is canonical JSON; it
    // holds no raw newline, so one row per line cannot be read two ways.
    const text = rows.map((row) => JSON.stringify(row)).join('\n');
    return `sha256:${createHash('sha256').update(`herd.catalog.v1\n${text}\n`).digest('hex')}`;
  }

  #recorded(
    service: string,
    digest: Digest,
  ): { latest: Release | undefined; revocation: Revocation | undefined } {
    const latest = this.#db
      .prepare<[string, Digest], Release>(
        `SELECT ${releaseColumns} FROM catalog_release WHERE service = ? AND digest = ? ORDER BY id DESC LIMIT 1`,
      )
      .get(service, digest);
    return { latest, revocation: this.revocation(digest) };
  }

  async #requireSignature(service: string, digest: Digest, verifySignature: SignatureCheck): Promise<void> {
    const verdict = await verifySignature(digest);
    const failure =
      verdict === false ? 'no valid signature' : verdict === true || verdict.ok ? undefined : verdict.reason;
    if (failure !== undefined) {
      throw new CatalogError(
        'UNSIGNED',
        `cannot release ${digest} for service ${service}: its signature does not verify against the trusted keys (${failure})`,
      );
    }
  }
}

interface CatalogRecordRow {
  kind: 'release' | 'revoke';
  journalId: number;
  service: string;
  digest: string;
  detail: string;
  entryId: number | null;
  at: string;
  actor: string;
  action: string;
  entryService: string | null;
  entryDigest: string | null;
  details: string;
  prevHash: string;
  hash: string;
  nextPrevHash: string | null;
}

function recordOf(row: CatalogRecordRow): CatalogRecord {
  const entry: JournalRow | undefined =
    row.entryId === null
      ? undefined
      : {
          id: row.entryId,
          at: row.at,
          actor: row.actor,
          action: row.action,
          service: row.entryService,
          digest: row.entryDigest,
          details: row.details,
          prevHash: row.prevHash,
          hash: row.hash,
        };
  return {
    kind: row.kind,
    journalId: row.journalId,
    service: row.service,
    digest: row.digest,
    detail: row.detail,
    entry,
    nextPrevHash: row.nextPrevHash ?? undefined,
  };
}
