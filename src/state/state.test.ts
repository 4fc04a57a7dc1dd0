import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StateError } from './errors.js';
import { checkMigrations, type Migration, pendingMigrations } from './migrate.js';
import { stateMigrations } from './migrations.js';
import { openStateDb } from './open-state-db.js';

const twoSteps: Migration[] = [
  { version: 1, area: 'journal', name: 'one', sql: 'CREATE TABLE one (x INTEGER) STRICT;' },
  { version: 2, area: 'catalog', name: 'two', sql: 'CREATE TABLE two (x INTEGER) STRICT;' },
];

describe('pendingMigrations', () => {
  it('returns the migrations after the current version, in order', () => {
    assert.deepEqual(
      pendingMigrations(1, twoSteps).map((m) => m.name),
      ['two'],
    );
    assert.deepEqual(pendingMigrations(2, twoSteps), []);
  });

  it('refuses a database written by a newer herd', () => {
    assert.throws(
      () => pendingMigrations(3, twoSteps),
      (error: StateError) => error.code === 'SCHEMA_TOO_NEW',
    );
  });

  it('refuses a list with a gap in its versions', () => {
    const gap = [twoSteps[0]!, { ...twoSteps[1]!, version: 3 }];

    assert.throws(
      () => checkMigrations(gap),
      (error: StateError) => error.code === 'MIGRATIONS_INVALID',
    );
  });

  it('accepts the migrations herd ships', () => {
    checkMigrations(stateMigrations);
  });
});

describe('openStateDb', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the file in WAL mode with foreign keys on and every migration applied', () => {
    const path = join(dir, 'nested', 'herd.db');

    const db = openStateDb(path);

    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
    assert.equal(db.pragma('user_version', { simple: true }), stateMigrations.length);
    db.close();
  });

  it('applies only the new migrations when reopened by a newer herd', () => {
    const path = join(dir, 'upgrade.db');
    openStateDb(path, { migrations: twoSteps.slice(0, 1) }).close();

    const db = openStateDb(path, { migrations: twoSteps });

    assert.equal(db.pragma('user_version', { simple: true }), 2);
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .pluck()
      .all();
    assert.deepEqual(tables, ['one', 'two']);
    db.close();
  });

  it('rolls back a failing migration and leaves the version where it was', () => {
    const path = join(dir, 'failing.db');
    const broken: Migration[] = [
      twoSteps[0]!,
      { version: 2, area: 'catalog', name: 'broken', sql: 'CREATE TABLE half (x INTEGER); NOT SQL;' },
    ];

    assert.throws(
      () => openStateDb(path, { migrations: broken }),
      (error: StateError) => error.code === 'MIGRATION_FAILED',
    );

    const db = openStateDb(path, { migrations: twoSteps.slice(0, 1) });
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    const half = db.prepare("SELECT name FROM sqlite_schema WHERE name = 'half'").get();
    assert.equal(half, undefined);
    db.close();
  });
});
