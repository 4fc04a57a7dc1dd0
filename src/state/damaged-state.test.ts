import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StateError } from './errors.js';
import { stateMigrations } from './migrations.js';
import { openStateDb } from './open-state-db.js';
import { explainStateFailure } from './state-failure.js';

describe('a damaged state database', () => {
  let dir: string;
  let count = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-damaged-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A current herd.db, changed by `sql` through a plain connection (as the sqlite3 CLI would). */
  function changedWith(sql: string): string {
    count += 1;
    const path = join(dir, `herd-${count}.db`);
    const db = openStateDb(path);
    db.exec(sql);
    db.close();
    return path;
  }

  it('is refused at open when a table was dropped, naming the file and the table', () => {
    const path = changedWith('DROP TABLE catalog_revocation;');

    assert.throws(
      () => openStateDb(path),
      (error: StateError) =>
        error.code === 'SCHEMA_DAMAGED' &&
        error.message.includes(path) &&
        error.message.includes('has no table catalog_revocation (catalog)'),
    );
  });

  it('is refused at open when a table was recreated with other columns', () => {
    const path = changedWith(
      'DROP TABLE journal_head; CREATE TABLE journal_head (singleton INTEGER, last_id TEXT, hash TEXT);',
    );

    assert.throws(
      () => openStateDb(path),
      (error: StateError) =>
        error.code === 'SCHEMA_DAMAGED' &&
        error.message.includes(`table journal_head (journal) in state database ${path} has columns`) &&
        error.message.includes('last_id text') &&
        error.message.includes('last_id integer not null'),
    );
  });

  it('is opened when it only holds a table herd does not know', () => {
    const path = changedWith('CREATE TABLE notes (text TEXT);');

    openStateDb(path).close();
  });

  it('is refused at open when the file is not sqlite, naming the file', () => {
    count += 1;
    const path = join(dir, `garbage-${count}.db`);
    writeFileSync(path, Buffer.alloc(16384, 'garbage '));

    assert.throws(
      () => openStateDb(path),
      (error: StateError) =>
        error.code === 'DATABASE_UNREADABLE' &&
        error.message.startsWith(`state database ${path} is not a sqlite database`),
    );
  });

  it('names the file and the table when a query meets garbage written into its pages', () => {
    const path = changedWith(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
       INSERT INTO journal (id, at, actor, action, details, prev_hash, hash)
       SELECT i, 'at', 'ci', 'build', '{"pad":"' || hex(zeroblob(100)) || '"}', 'p', 'h' FROM n;
       PRAGMA wal_checkpoint(TRUNCATE);`,
    );
    const size = statSync(path).size;
    const fd = openSync(path, 'r+');
    // Well past page 1 (the schema) and inside the journal's pages, which fill most of the file.
    writeSync(fd, Buffer.alloc(3 * 4096, 'A'), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    const db = openStateDb(path);

    let thrown: unknown;
    try {
      db.prepare('SELECT * FROM journal ORDER BY id').all();
    } catch (error) {
      thrown = error;
    } finally {
      db.close();
    }

    const explained = explainStateFailure(thrown, path, stateMigrations) as StateError;
    assert.equal(explained.code, 'DATABASE_DAMAGED');
    assert.match(explained.message, new RegExp(`^state database ${path} is damaged in table journal \\(`));
  });

  it('names the file and the table when a table is dropped while herd has the file open', () => {
    const path = changedWith('');
    const db = openStateDb(path);
    const other = openStateDb(path);
    other.exec('DROP TABLE incidents;');
    other.close();

    let thrown: unknown;
    try {
      db.prepare('SELECT * FROM incidents').all();
    } catch (error) {
      thrown = error;
    } finally {
      db.close();
    }

    const explained = explainStateFailure(thrown, path, stateMigrations) as StateError;
    assert.equal(explained.code, 'SCHEMA_DAMAGED');
    assert.match(explained.message, new RegExp(`^state database ${path} has no table incidents,`));
  });

  it('leaves errors that are not sqlite errors alone', () => {
    const error = new Error('something else');

    assert.equal(explainStateFailure(error, 'herd.db', stateMigrations), error);
  });
});
