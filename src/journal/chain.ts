/**
 * The hash chain, without SQLite: how an entry is hashed and how a sequence of stored rows is
 * checked. Journal (journal.ts) feeds it rows; tests feed it arrays.
 */
import { canonicalJson, type JsonObject, sha256Hex } from '../common/index.js';

/** entry 1's prevHash. */
export const genesisHash = '0'.repeat(64);

/** Bumped if the encoding ever changes, so old and new hashes can never collide silently. */
const encodingTag = 'herd.journal.v1';

export interface HashedFields {
  id: number;
  at: string;
  actor: string;
  action: string;
  service?: string;
  digest?: string;
  details: JsonObject;
  prevHash: string;
}

/**
 * sha256 (hex) over the canonical JSON of a fixed-order array. An absent service or digest is
 * encoded as null, so it can never be confused with an empty string.
 */
export function hashEntry(fields: HashedFields): string {
  const encoded = canonicalJson([
    encodingTag,
    fields.id,
    fields.at,
    fields.actor,
    fields.action,
    fields.service ?? null,
    fields.digest ?? null,
    fields.details,
    fields.prevHash,
  ]);
  return sha256Hex(encoded);
}

/** A journal row as stored: details still as JSON text, absent values as null. */
export interface JournalRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  service: string | null;
  digest: string | null;
  details: string;
  prevHash: string;
  hash: string;
}

/** The last id and hash, kept apart from the rows so that a cut-off tail shows. */
export interface JournalHead {
  lastId: number;
  hash: string;
}

export type VerifyResult = { ok: true; count: number } | { ok: false; entryId: number; reason: string };

/**
 * Walks rows in id order and names the first entry whose link is broken: a gap in the ids (rows
 * deleted), a prevHash that is not the previous hash (rows inserted, reordered or replaced), or a
 * hash that does not match the row (row edited). Then the head must agree with the last row.
 * Someone who rewrites every later hash and the head is not caught here: the signed checkpoint
 * (checkpoint-comparison.ts) is the anchor for that. `after` checks only the rows that follow a
 * known entry (its id and hash), as a checkpoint comparison does.
 */
export function checkChain(
  rows: Iterable<JournalRow>,
  head: JournalHead | undefined,
  options: { after?: { id: number; hash: string } } = {},
): VerifyResult {
  let previous: { id: number; hash: string } = options.after ?? { id: 0, hash: genesisHash };
  let count = 0;
  for (const row of rows) {
    const broken = checkRow(row, previous);
    if (broken) return { ok: false, entryId: row.id, reason: broken };
    previous = { id: row.id, hash: row.hash };
    count += 1;
  }
  return checkHead(previous, count, head);
}

function checkRow(row: JournalRow, previous: { id: number; hash: string }): string | undefined {
  const expectedId = previous.id + 1;
  if (row.id !== expectedId) {
    return row.id === expectedId + 1
      ? `entry ${expectedId} is missing (row deleted)`
      : `entries ${expectedId} to ${row.id - 1} are missing (rows deleted)`;
  }
  if (row.prevHash !== previous.hash) {
    return previous.id === 0
      ? 'previous hash is not the genesis hash (row inserted or replaced)'
      : `previous hash does not match entry ${previous.id} (row inserted, reordered or replaced)`;
  }
  const details = parseDetails(row.details);
  if (!details) return 'details are not a json object (row edited)';
  const hash = hashEntry({
    ...row,
    service: row.service ?? undefined,
    digest: row.digest ?? undefined,
    details,
  });
  if (hash !== row.hash) return 'hash mismatch (row edited)';
  return undefined;
}

function checkHead(
  last: { id: number; hash: string },
  count: number,
  head: JournalHead | undefined,
): VerifyResult {
  if (!head) {
    if (last.id === 0) return { ok: true, count };
    return {
      ok: false,
      entryId: last.id + 1,
      reason: `the journal head is missing, so entries after ${last.id} may have been deleted`,
    };
  }
  if (head.lastId > last.id) {
    const reason =
      last.id === 0
        ? `all ${head.lastId} entries were deleted`
        : `entries after ${last.id} were deleted (the head records ${head.lastId})`;
    return { ok: false, entryId: last.id + 1, reason };
  }
  if (head.lastId < last.id) {
    return {
      ok: false,
      entryId: head.lastId + 1,
      reason: `entry ${head.lastId + 1} is not in the journal head (appended outside herd)`,
    };
  }
  if (head.hash !== last.hash) {
    return { ok: false, entryId: last.id, reason: 'hash does not match the journal head (row replaced)' };
  }
  return { ok: true, count };
}

/** The details column back as an object, or undefined when it is not a JSON object. */
export function parseDetails(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The line `herd journal --verify` prints. */
export function formatVerifyResult(result: VerifyResult): string {
  if (result.ok) return `journal chain intact: ${result.count} ${result.count === 1 ? 'entry' : 'entries'}`;
  return `journal chain broken at entry ${result.entryId}: ${result.reason}`;
}
