/**
 * The journal's SQLite side: append under a write lock, list, verify. The hashing and the chain
 * check are pure and live in chain.ts. Tables and triggers are created by src/state/migrations.ts.
 */
import type { Database, Statement } from 'better-sqlite3';
import { type Clock, canonicalJson } from '../common/index.js';
import {
  checkChain,
  genesisHash,
  hashEntry,
  type JournalHead,
  type JournalRow,
  parseDetails,
  type VerifyResult,
} from './chain.js';
import {
  type CheckpointComparison,
  type CheckpointHead,
  compareWithCheckpoint,
} from './checkpoint-comparison.js';
import { JournalError } from './errors.js';
import type { JournalAction, JournalEntry, JournalEvent } from './types.js';

export interface ListOptions {
  service?: string;
  /** Entries at or after this time. */
  since?: Date;
  /** The newest `limit` entries (still returned oldest first). */
  limit?: number;
}

const rowColumns = 'id, at, actor, action, service, digest, details, prev_hash AS prevHash, hash';

export class Journal {
  /** The connection. Areas that journal their writes (catalog) must share it, to commit both at once. */
  readonly db: Database;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #head: Statement<[], JournalHead>;
  readonly #insert: Statement<[JournalRow]>;
  readonly #moveHead: Statement<[JournalHead]>;
  #list?: Statement<{ service: string | null; since: string | null; limit: number }, JournalRow>;

  constructor(db: Database, options: { clock: Pick<Clock, 'now'> }) {
    this.db = db;
    this.#clock = options.clock;
    this.#head = db.prepare('SELECT last_id AS lastId, hash FROM journal_head WHERE singleton = 1');
    this.#insert = db.prepare(
      `INSERT INTO journal (id, at, actor, action, service, digest, details, prev_hash, hash)
       VALUES (@id, @at, @actor, @action, @service, @digest, @details, @prevHash, @hash)`,
    );
    this.#moveHead = db.prepare(
      `INSERT INTO journal_head (singleton, last_id, hash) VALUES (1, @lastId, @hash)
       ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash`,
    );
  }

  /**
   * Appends one entry and moves the head, in one IMMEDIATE transaction: the write lock is taken
   * before the head is read, so two processes appending at once queue up instead of both linking
   * to the same previous entry. Inside a caller's transaction it joins it (as a savepoint), which
   * is how the catalog commits a release and its entry together.
   */
  append(event: JournalEvent): JournalEntry {
    if (event.actor.trim() === '') {
      throw new JournalError('ACTOR_MISSING', `journal ${event.action} event has no actor: set HERD_ACTOR`);
    }
    const details = event.details ?? {};
    const detailsText = detailsJson(details);
    return this.db
      .transaction(() => {
        // The head, not the last row, decides what comes next: a tail cut off behind herd's back
        // then stays visible as a gap instead of being papered over by the next append.
        const head = this.#head.get() ?? { lastId: 0, hash: genesisHash };
        const fields = {
          id: head.lastId + 1,
          at: new Date(this.#clock.now()).toISOString(),
          actor: event.actor,
          action: event.action,
          service: event.service,
          digest: event.digest,
          details,
          prevHash: head.hash,
        };
        const row: JournalRow = {
          ...fields,
          service: fields.service ?? null,
          digest: fields.digest ?? null,
          details: detailsText,
          hash: hashEntry(fields),
        };
        this.#insert.run(row);
        this.#moveHead.run({ lastId: row.id, hash: row.hash });
        return entryOf(row);
      })
      .immediate();
  }

  list(options: ListOptions = {}): JournalEntry[] {
    // Prepared once: the fleet API reads the journal on every `GET /api/v1/journal`.
    this.#list ??= this.db.prepare(
      `SELECT ${rowColumns} FROM journal
       WHERE (@service IS NULL OR service = @service) AND (@since IS NULL OR at >= @since)
       ORDER BY id DESC LIMIT @limit`,
    );
    const rows = this.#list.all({
      service: options.service ?? null,
      since: options.since?.toISOString() ?? null,
      limit: options.limit ?? -1,
    });
    return rows.reverse().map(entryOf);
  }

  /** The last id and hash as `journal_head` records them; undefined before the first append. */
  head(): JournalHead | undefined {
    return this.#head.get();
  }

  /**
   * Whether the journal still extends a checkpoint of its head (see checkpoint-comparison.ts).
   * Reads only the entries from the checkpoint on, so it costs what was appended since.
   */
  compareWithCheckpoint(checkpoint: CheckpointHead): CheckpointComparison {
    return this.db.transaction(() => {
      const head = this.#head.get();
      const lastRowId =
        this.db.prepare<[], number>('SELECT coalesce(max(id), 0) FROM journal').pluck().get() ?? 0;
      const rows = this.db
        .prepare<[number], JournalRow>(`SELECT ${rowColumns} FROM journal WHERE id >= ? ORDER BY id`)
        .all(checkpoint.sequence);
      return compareWithCheckpoint(rows, { head, lastRowId }, checkpoint);
    })();
  }

  /** Checks the whole chain and the head, reading both from one snapshot. */
  verify(): VerifyResult {
    return this.db.transaction(() => {
      const head = this.#head.get();
      const rows = this.db.prepare<[], JournalRow>(`SELECT ${rowColumns} FROM journal ORDER BY id`).iterate();
      return checkChain(rows, head);
    })();
  }
}

/** Listing does not verify (that is `verify`'s job), but must still show a row someone mangled. */
function entryOf(row: JournalRow): JournalEntry {
  const entry: JournalEntry = {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action as JournalAction,
    details: parseDetails(row.details) ?? { unparsable: row.details },
    prevHash: row.prevHash,
    hash: row.hash,
  };
  if (row.service !== null) entry.service = row.service;
  if (row.digest !== null) entry.digest = row.digest;
  return entry;
}

/** The entry's details as canonical JSON; anything that is not plain JSON is DETAILS_INVALID. */
function detailsJson(details: unknown): string {
  try {
    return canonicalJson(details);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new JournalError('DETAILS_INVALID', `journal details must be plain json: ${error.message}`, {
      cause: error,
    });
  }
}
