/**
 * The tamper check with a tool no one here wrote: edit a journal row with Debian's sqlite3
 * CLI, the way someone with the file would, and `herd journal --verify` must name that entry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatVerifyResult } from '../src/journal/chain.js';
import { Journal } from '../src/journal/journal.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { requireTool } from './support/podman.js';

function sqlite3(path: string, sql: string): void {
  const result = spawnSync('sqlite3', [path, sql], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `sqlite3 failed:\n${result.stderr}`);
}

function journalAt(path: string): Journal {
  let tick = 0;
  const clock = { now: () => new Date(Date.UTC(2025, 0, 1) + 1000 * tick++) };
  return new Journal(openStateDb(path), { clock });
}

function appendFive(path: string): void {
  const journal = journalAt(path);
  for (let step = 1; step <= 5; step += 1) {
    journal.append({ actor: 'ci', action: 'build', service: 'web', details: { step } });
  }
  journal.db.close();
}

describe('journal tampering with the sqlite3 CLI', () => {
  let dir: string;
  before(async () => {
    requireTool('sqlite3', 'sqlite3');
    dir = await mkdtemp(join(tmpdir(), 'herd-journal-sqlite3-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is refused by the append-only trigger while it stands', () => {
    const path = join(dir, 'trigger.db');
    appendFive(path);

    const result = spawnSync('sqlite3', [path, `UPDATE journal SET details = '{"step":30}' WHERE id = 3;`], {
      encoding: 'utf8',
    });

    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /append-only/);
  });

  it('names entry 3 when row 3 is edited after dropping the trigger', () => {
    const path = join(dir, 'edited.db');
    appendFive(path);

    sqlite3(path, `DROP TRIGGER journal_no_update; UPDATE journal SET details = '{"step":30}' WHERE id = 3;`);

    const journal = journalAt(path);
    const result = journal.verify();
    journal.db.close();
    assert.deepEqual(result, { ok: false, entryId: 3, reason: 'hash mismatch (row edited)' });
    assert.equal(formatVerifyResult(result), 'journal chain broken at entry 3: hash mismatch (row edited)');
  });

  it('names entry 4 when row 3 is deleted, and the cut when the tail is deleted', () => {
    const middle = join(dir, 'middle.db');
    const tail = join(dir, 'tail.db');
    appendFive(middle);
    appendFive(tail);

    sqlite3(middle, 'DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE id = 3;');
    sqlite3(tail, 'DROP TRIGGER journal_no_delete; DELETE FROM journal WHERE id >= 4;');

    const results = [middle, tail].map((path) => {
      const journal = journalAt(path);
      const line = formatVerifyResult(journal.verify());
      journal.db.close();
      return line;
    });
    assert.deepEqual(results, [
      'journal chain broken at entry 4: entry 3 is missing (row deleted)',
      'journal chain broken at entry 4: entries after 3 were deleted (the head records 5)',
    ]);
  });
});
