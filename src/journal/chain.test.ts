import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, type JsonObject } from '../common/index.js';
import {
  checkChain,
  formatVerifyResult,
  genesisHash,
  hashEntry,
  type JournalHead,
  type JournalRow,
} from './chain.js';

/** A valid chain of `count` rows, built the way Journal.append builds them. */
function chainOf(count: number): JournalRow[] {
  const rows: JournalRow[] = [];
  let prevHash = genesisHash;
  for (let id = 1; id <= count; id += 1) {
    const details: JsonObject = { step: id };
    const fields = {
      id,
      at: `2025-01-01T00:00:0${id}.000Z`,
      actor: 'ci',
      action: 'build',
      details,
      prevHash,
    };
    const hash = hashEntry({ ...fields, service: 'web' });
    rows.push({ ...fields, service: 'web', digest: null, details: canonicalJson(details), hash });
    prevHash = hash;
  }
  return rows;
}

function headOf(rows: JournalRow[]): JournalHead {
  const last = rows.at(-1)!;
  return { lastId: last.id, hash: last.hash };
}

describe('hashEntry', () => {
  const fields = {
    id: 1,
    at: '2025-01-01T00:00:00.000Z',
    actor: 'ci',
    action: 'build',
    details: {},
    prevHash: genesisHash,
  };

  it('is 64 hex characters and stable', () => {
    assert.match(hashEntry(fields), /^[0-9a-f]{64}$/);
    assert.equal(hashEntry(fields), hashEntry({ ...fields }));
  });

  it('changes with every field, and tells an absent service from an empty one', () => {
    const base = hashEntry(fields);

    for (const changed of [
      { ...fields, id: 2 },
      { ...fields, at: '2025-01-01T00:00:01.000Z' },
      { ...fields, actor: 'eve' },
      { ...fields, action: 'sign' },
      { ...fields, service: '' },
      { ...fields, digest: 'sha256:00' },
      { ...fields, details: { a: 1 } },
      { ...fields, prevHash: 'f'.repeat(64) },
    ]) {
      assert.notEqual(hashEntry(changed), base, JSON.stringify(changed));
    }
  });
});

describe('checkChain', () => {
  it('accepts an intact chain and counts it', () => {
    const rows = chainOf(4);

    assert.deepEqual(checkChain(rows, headOf(rows)), { ok: true, count: 4 });
  });

  it('accepts an empty journal with no head', () => {
    assert.deepEqual(checkChain([], undefined), { ok: true, count: 0 });
  });

  it('names an edited row by its hash mismatch', () => {
    const rows = chainOf(5);
    rows[2] = { ...rows[2]!, details: '{"step":99}' };

    const result = checkChain(rows, headOf(rows));

    assert.deepEqual(result, { ok: false, entryId: 3, reason: 'hash mismatch (row edited)' });
  });

  it('names an edited row whose details are no longer json', () => {
    const rows = chainOf(3);
    rows[1] = { ...rows[1]!, details: '{oops' };

    assert.deepEqual(checkChain(rows, headOf(rows)), {
      ok: false,
      entryId: 2,
      reason: 'details are not a json object (row edited)',
    });
  });

  it('names the next entry when a middle row is deleted', () => {
    const rows = chainOf(5);
    const head = headOf(rows);
    rows.splice(2, 1);

    assert.deepEqual(checkChain(rows, head), {
      ok: false,
      entryId: 4,
      reason: 'entry 3 is missing (row deleted)',
    });
  });

  it('names entry 2 when the first row is deleted', () => {
    const rows = chainOf(3);
    const head = headOf(rows);

    assert.deepEqual(checkChain(rows.slice(1), head), {
      ok: false,
      entryId: 2,
      reason: 'entry 1 is missing (row deleted)',
    });
  });

  it('names a row that was edited and rehashed by the broken link after it', () => {
    const rows = chainOf(4);
    const edited = { ...rows[1]!, actor: 'eve' };
    edited.hash = hashEntry({ ...edited, service: 'web', digest: undefined, details: { step: 2 } });
    rows[1] = edited;

    const result = checkChain(rows, headOf(chainOf(4)));

    assert.deepEqual(result, {
      ok: false,
      entryId: 3,
      reason: 'previous hash does not match entry 2 (row inserted, reordered or replaced)',
    });
  });

  it('names a reordered row', () => {
    const rows = chainOf(4);
    const swapped = [rows[0]!, { ...rows[2]!, id: 2 }, { ...rows[1]!, id: 3 }, rows[3]!];

    const result = checkChain(swapped, headOf(rows));

    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.entryId, 2);
  });

  it('reports a deleted tail from the head', () => {
    const rows = chainOf(5);

    const result = checkChain(rows.slice(0, 3), headOf(rows));

    assert.deepEqual(result, {
      ok: false,
      entryId: 4,
      reason: 'entries after 3 were deleted (the head records 5)',
    });
  });

  it('reports every row deleted', () => {
    const rows = chainOf(2);

    assert.deepEqual(checkChain([], headOf(rows)), {
      ok: false,
      entryId: 1,
      reason: 'all 2 entries were deleted',
    });
  });

  it('reports rows appended without moving the head', () => {
    const rows = chainOf(4);

    const result = checkChain(rows, headOf(rows.slice(0, 2)));

    assert.deepEqual(result, {
      ok: false,
      entryId: 3,
      reason: 'entry 3 is not in the journal head (appended outside herd)',
    });
  });

  it('reports a missing head when rows exist', () => {
    const result = checkChain(chainOf(2), undefined);

    assert.equal(!result.ok && result.entryId, 3);
  });

  it('reports a last row replaced with a self-consistent one', () => {
    const rows = chainOf(3);
    const head = headOf(rows);
    const replaced = { ...rows[2]!, actor: 'eve' };
    replaced.hash = hashEntry({ ...replaced, service: 'web', digest: undefined, details: { step: 3 } });
    rows[2] = replaced;

    assert.deepEqual(checkChain(rows, head), {
      ok: false,
      entryId: 3,
      reason: 'hash does not match the journal head (row replaced)',
    });
  });
});

describe('formatVerifyResult', () => {
  it('names the broken entry and why', () => {
    const line = formatVerifyResult({ ok: false, entryId: 3, reason: 'hash mismatch (row edited)' });

    assert.equal(line, 'journal chain broken at entry 3: hash mismatch (row edited)');
  });

  it('counts an intact chain', () => {
    assert.equal(formatVerifyResult({ ok: true, count: 1 }), 'journal chain intact: 1 entry');
    assert.equal(formatVerifyResult({ ok: true, count: 5 }), 'journal chain intact: 5 entries');
  });
});
