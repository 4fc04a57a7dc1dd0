import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Migration } from './migrate.js';
import { stateMigrations } from './migrations.js';
import { recordedSchema } from './recorded-schema.js';
import { expectedShape, migrationsDigest, replayShape } from './schema-check.js';

describe('the recorded schema of herd.db', () => {
  it('was recorded from the migrations as they are (else run scripts/record-state-schema.ts)', () => {
    assert.equal(
      recordedSchema.migrationsSha256,
      migrationsDigest(stateMigrations),
      'a migration was added or changed: run node --import tsx scripts/record-state-schema.ts',
    );
    assert.deepEqual(
      new Map(Object.entries(recordedSchema.tables).map(([t, s]) => [t, { ...s, columns: [...s.columns] }])),
      replayShape(stateMigrations),
    );
  });

  it('is used for the migrations it was recorded from, and a changed list is replayed', () => {
    const added: Migration = {
      version: stateMigrations.length + 1,
      area: 'debug',
      name: 'a table the record does not have',
      sql: 'CREATE TABLE debug_extra (id INTEGER PRIMARY KEY) STRICT;',
    };
    const current = expectedShape(stateMigrations);
    const changed = expectedShape([...stateMigrations, added]);

    assert.deepEqual([...current.keys()].sort(), Object.keys(recordedSchema.tables).sort());
    assert.deepEqual(changed.get('debug_extra'), { area: 'debug', columns: ['id integer pk 1'] });
    assert.equal(changed.size, current.size + 1);
  });
});
