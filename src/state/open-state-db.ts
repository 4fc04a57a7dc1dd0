/**
 * Opens herd.db, the one SQLite file that the journal, the catalog, the fleets and every other
 * area's tables share, so that a catalog write and its journal entry can commit in one transaction.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { type Migration, runMigrations } from './migrate.js';
import { stateMigrations } from './migrations.js';
import { checkSchema } from './schema-check.js';
import { explainStateFailure } from './state-failure.js';

export interface OpenStateDbOptions {
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Tests may pass their own list; herd always uses `stateMigrations`. */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) the state database at `path` and brings its schema up to date. A file
 * that is not SQLite, is damaged, or lacks one of the migrations' tables is refused with a
 * StateError naming the file (and the table), never SQLite's bare error.
 */
export function openStateDb(path: string, options: OpenStateDbOptions = {}): Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // SQLite creates herd.db-wal and -shm with the database file's mode: a herd.db made 0600 here
    // keeps all three private.
    closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  }
  const migrations = options.migrations ?? stateMigrations;
  let db: Database;
  try {
    db = new BetterSqlite3(path, addonPath() ? { nativeBinding: addonPath() } : {});
  } catch (error) {
    throw explainStateFailure(error, path, migrations);
  }
  try {
    // WAL lets readers (dashboard, `herd journal`) run while the controller writes.
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // synchronous stays at SQLite's default (FULL): the journal is an audit trail, and losing its
    // last commits on power loss is worth more than the write speed NORMAL would buy.
    runMigrations(db, migrations);
    checkSchema(db, migrations, path);
    return db;
  } catch (error) {
    db.close();
    throw explainStateFailure(error, path, migrations);
  }
}

let addon: string | undefined | null = null;

/**
 * better-sqlite3's compiled addon, where its install builds it. Without the path, better-sqlite3
 * finds it through the `bindings` package, which reads its own stack trace and tries a dozen
 * places with a failing require each: 10–20 ms of every command that opens herd.db. A build
 * elsewhere (a debug build, a prebuilt binary) is still found the default way.
 */
function addonPath(): string | undefined {
  if (addon === null) {
    const packageJson = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
    const built = join(dirname(packageJson), 'build', 'Release', 'better_sqlite3.node');
    addon = existsSync(built) ? built : undefined;
  }
  return addon;
}
