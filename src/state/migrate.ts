/**
 * A tiny ordered migrations runner. SQLite's `user_version` header field holds the number of the
 * last migration applied; each migration runs in its own IMMEDIATE transaction together with the
 * bump of `user_version`, so a crash leaves the schema at a whole version, never between two.
 */
import type { Database } from 'better-sqlite3';
import { StateError } from './errors.js';

/** The areas that own tables in herd.db. A migration belongs to exactly one. */
export type StateArea = 'journal' | 'catalog' | 'fleet' | 'watch' | 'auth' | 'debug' | 'pipeline';

export interface Migration {
  /** 1, 2, 3, …: the value of `user_version` once this migration is applied. */
  version: number;
  area: StateArea;
  name: string;
  sql: string;
}

/** Versions must run 1..n without gaps, or a database could skip a step on upgrade. */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StateError(
        'MIGRATIONS_INVALID',
        `migration ${migration.area}/${migration.name} has version ${migration.version}, expected ${index + 1}`,
      );
    }
  });
}

/** The migrations a database at `currentVersion` still needs, in order. */
export function pendingMigrations(currentVersion: number, migrations: readonly Migration[]): Migration[] {
  checkMigrations(migrations);
  if (currentVersion > migrations.length) {
    // Written by a newer herd: running against a schema we do not know could corrupt it.
    throw new StateError(
      'SCHEMA_TOO_NEW',
      `state database is at schema version ${currentVersion}, this herd knows up to ${migrations.length}: upgrade herd`,
    );
  }
  return migrations.slice(currentVersion);
}

function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies what is pending and returns the versions applied (empty when the schema was current). */
export function runMigrations(db: Database, migrations: readonly Migration[]): number[] {
  const applied: number[] = [];
  for (const migration of pendingMigrations(userVersion(db), migrations)) {
    const apply = db.transaction(() => {
      // Another process may have migrated between our read and our lock: re-read under the lock.
      if (userVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      applied.push(migration.version);
    });
    try {
      apply.immediate();
    } catch (error) {
      throw new StateError(
        'MIGRATION_FAILED',
        `migration ${migration.version} (${migration.area}/${migration.name}) of ${db.name} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return applied;
}
