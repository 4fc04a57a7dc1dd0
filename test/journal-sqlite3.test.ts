/**
 * The tamper check with a tool no one here wrote: edit a journal row with Debian's sqlite3
 * CLI, the way someone with the file would, and `herd journal --verify` must name that entry.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatVerifyResult } from '../src/journal/chain.js';
import { Journal } from '../src/journal/journal.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { runHerd } from './support/cli.js';
import { requireTool } from './support/podman.js';

function sqlite3(path: string, sql: string): void {
  const result = spawnSync('sqlite3', [path, sql], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.status, 0, `sqlite3 failed:\n${result.stderr}`);
}

function journalAt(path: string): Journal {
  let tick = 0;
  const clock = { now: () => Date.UTC(2025, 0, 1) + 1000 * tick++ };
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

describe('a damaged herd.db through the CLI', () => {
  let dir: string;
  let count = 0;
  before(async () => {
    requireTool('sqlite3', 'sqlite3');
    dir = await mkdtemp(join(tmpdir(), 'herd-damaged-db-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A HERD_HOME whose herd.db holds five journal entries. */
  function homeWithJournal(): { home: string; db: string } {
    count += 1;
    const home = join(dir, `home-${count}`);
    const db = join(home, 'herd.db');
    appendFive(db);
    return { home, db };
  }

  function herd(args: string[], home: string) {
    return runHerd(args, { home, env: { HERD_ACTOR: 'tester' } });
  }

  /** Exit 2, one plain line naming what is wrong, and no stack trace. */
  function assertRefused(result: { status: number | null; err: string }, message: RegExp): void {
    assert.equal(result.status, 2, result.err);
    assert.match(result.err, message);
    assert.doesNotMatch(result.err, /\n\s+at /, 'a stack trace was printed');
    assert.doesNotMatch(result.err, /unexpected error/);
  }

  for (const table of [
    'journal',
    'journal_head',
    'catalog_release',
    'catalog_revocation',
    'fleets',
    'incidents',
  ]) {
    it(`names the file and the table when ${table} was dropped`, () => {
      const { home, db } = homeWithJournal();
      sqlite3(db, `DROP TABLE ${table};`);

      for (const args of [['journal'], ['journal', '--verify'], ['catalog']]) {
        assertRefused(herd(args, home), new RegExp(`state database ${db} has no table ${table} \\(`));
      }
    });
  }

  it('names the file and the table when a table was recreated with other columns', () => {
    const { home, db } = homeWithJournal();
    sqlite3(db, 'DROP TABLE catalog_revocation; CREATE TABLE catalog_revocation (digest TEXT);');

    assertRefused(
      herd(['catalog'], home),
      new RegExp(
        `table catalog_revocation \\(catalog\\) in state database ${db} has columns \\(digest text\\)`,
      ),
    );
  });

  it('names the file when herd.db is garbage from its first byte', async () => {
    count += 1;
    const home = join(dir, `home-${count}`);
    const db = join(home, 'herd.db');
    appendFive(db);
    await writeFile(db, Buffer.alloc(64 * 1024, 'not sqlite '));

    assertRefused(
      herd(['journal', '--verify'], home),
      new RegExp(`state database ${db} is not a sqlite database`),
    );
  });

  it("names the file and the table when garbage is written into the journal's pages", () => {
    const { home, db } = homeWithJournal();
    sqlite3(
      db,
      `WITH RECURSIVE n(i) AS (SELECT 6 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
       INSERT INTO journal (id, at, actor, action, details, prev_hash, hash)
       SELECT i, 'at', 'ci', 'build', '{"pad":"' || hex(zeroblob(100)) || '"}', 'p', 'h' FROM n;
       PRAGMA wal_checkpoint(TRUNCATE);`,
    );
    const size = statSync(db).size;
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(3 * 4096, 'A'), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);

    assertRefused(
      herd(['journal'], home),
      new RegExp(`state database ${db} is damaged in table journal \\(`),
    );
  });
});
