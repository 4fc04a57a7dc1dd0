import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../common/index.js';
import { genesisHash, hashEntry, type JournalHead, type JournalRow } from './chain.js';
import { compareWithCheckpoint } from './checkpoint-comparison.js';

/** A valid chain of `count` rows whose details say `variant`, built the way Journal.append builds them. */
function chainOf(count: number, variant = 'a'): JournalRow[] {
  const rows: JournalRow[] = [];
  let prevHash = genesisHash;
  for (let id = 1; id <= count; id += 1) {
    const details = { step: id, variant };
    const fields = { id, at: '2025-01-01T00:00:00.000Z', actor: 'ci', action: 'build', details, prevHash };
    const hash = hashEntry(fields);
    rows.push({ ...fields, service: null, digest: null, details: canonicalJson(details), hash });
    prevHash = hash;
  }
  return rows;
}

function headOf(rows: JournalRow[]): JournalHead | undefined {
  const last = rows.at(-1);
  return last && { lastId: last.id, hash: last.hash };
}

/** What Journal.compareWithCheckpoint hands the pure check: rows from the sequence on. */
function compare(rows: JournalRow[], checkpoint: { sequence: number; hash: string }, head = headOf(rows)) {
  return compareWithCheckpoint(
    rows.filter((row) => row.id >= checkpoint.sequence),
    { head, lastRowId: rows.at(-1)?.id ?? 0 },
    checkpoint,
  );
}

function checkpointOf(rows: JournalRow[], sequence: number) {
  return { sequence, hash: rows[sequence - 1]!.hash };
}

describe('compareWithCheckpoint', () => {
  it('accepts the journal the checkpoint was made of, and counts what was appended since', () => {
    const rows = chainOf(7);

    assert.deepEqual(compare(rows.slice(0, 5), checkpointOf(rows, 5)), { ok: true, appended: 0 });
    assert.deepEqual(compare(rows, checkpointOf(rows, 5)), { ok: true, appended: 2 });
  });

  it('reports an emptied journal', () => {
    const rows = chainOf(3);

    const result = compare([], checkpointOf(rows, 3), undefined);

    assert.deepEqual(result, {
      ok: false,
      kind: 'emptied',
      entryId: 1,
      reason: 'the journal is empty, but its checkpoint records 3 entries',
    });
  });

  it('reports a tail cut off together with the head', () => {
    const rows = chainOf(6);

    const result = compare(rows.slice(0, 4), checkpointOf(rows, 6));

    assert.deepEqual(result, {
      ok: false,
      kind: 'truncated',
      entryId: 5,
      reason: 'the journal ends at entry 4, but its checkpoint records 6 entries (tail deleted)',
    });
  });

  it('reports a head moved back behind the checkpoint while the rows stay', () => {
    const rows = chainOf(6);

    const result = compare(rows, checkpointOf(rows, 6), headOf(rows.slice(0, 3)));

    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.kind, 'truncated');
    assert.equal(!result.ok && result.entryId, 4);
  });

  it('reports a journal rewritten from an earlier entry, every hash recomputed', () => {
    const original = chainOf(5);
    const rewritten = chainOf(5, 'forged');

    const result = compare(rewritten, checkpointOf(original, 5));

    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.kind, 'rewritten');
    assert.equal(!result.ok && result.entryId, 5);
    assert.match(!result.ok ? result.reason : '', /entry 5 has hash [0-9a-f]{16}…, its checkpoint signed/);
  });

  it("reports the checkpoint's entry deleted while later ones stay", () => {
    const rows = chainOf(6);

    const result = compare(
      rows.filter((row) => row.id !== 4),
      checkpointOf(rows, 4),
    );

    assert.deepEqual(result, {
      ok: false,
      kind: 'rewritten',
      entryId: 4,
      reason: "entry 4, the checkpoint's last entry, is missing (row deleted)",
    });
  });

  it("reports the checkpoint's entry edited with its stored hash kept", () => {
    const rows = chainOf(4);
    const checkpoint = checkpointOf(rows, 4);
    rows[3] = { ...rows[3]!, actor: 'mallory' };

    const result = compare(rows, checkpoint);

    assert.deepEqual(result, {
      ok: false,
      kind: 'broken',
      entryId: 4,
      reason: 'hash mismatch (row edited)',
    });
  });

  it('reports a broken link after the checkpoint', () => {
    const rows = chainOf(6);
    const checkpoint = checkpointOf(rows, 3);
    rows[4] = { ...rows[4]!, prevHash: 'f'.repeat(64) };

    const result = compare(rows, checkpoint);

    assert.equal(!result.ok && result.kind, 'broken');
    assert.equal(!result.ok && result.entryId, 5);
  });
});
