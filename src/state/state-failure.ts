/**
 * SQLite's own errors say what went wrong in its words ("file is not a database", "database disk
 * image is malformed", "no such table: journal") and never which file. herd.db is where the journal
 * and the catalog live, so a damaged one must say so plainly, naming the file and, when SQLite can
 * tell, the table. Used by openStateDb and by the CLI for errors that surface later, in a query.
 */
import BetterSqlite3 from 'better-sqlite3';
import { StateError } from './errors.js';
import type { Migration } from './migrate.js';
import { expectedShape } from './schema-check.js';

const restore = 'restore it from a backup, or move it away to start a new journal';

/**
 * A StateError for a SQLite error from the state database at `path`; any other error is returned
 * unchanged. Corruption is narrowed to tables by checking each of herd's tables in turn.
 */
export function explainStateFailure(
  error: unknown,
  path: string,
  migrations?: readonly Migration[],
): unknown {
  if (!(error instanceof BetterSqlite3.SqliteError)) return error;
  const said = error.message;
  if (error.code === 'SQLITE_NOTADB') {
    return new StateError(
      'DATABASE_UNREADABLE',
      `state database ${path} is not a sqlite database (sqlite says: ${said}): ${restore}`,
      { cause: error },
    );
  }
  if (error.code.startsWith('SQLITE_CORRUPT')) {
    const tables = migrations ? damagedTables(path, migrations) : [];
    const where = tables.length > 0 ? ` in table ${tables.join(', ')}` : '';
    return new StateError(
      'DATABASE_DAMAGED',
      `state database ${path} is damaged${where} (sqlite says: ${said}): ${restore}`,
      { cause: error },
    );
  }
  const missing = /^no such (table|column): (\S+)/.exec(said);
  if (missing) {
    return new StateError(
      'SCHEMA_DAMAGED',
      `state database ${path} has no ${missing[1]} ${missing[2]}, which herd expects: ${restore}`,
      { cause: error },
    );
  }
  if (/^SQLITE_(CANTOPEN|IOERR|PERM|READONLY|FULL|AUTH)/.test(error.code)) {
    return new StateError('DATABASE_UNREADABLE', `cannot use state database ${path}: ${said}`, {
      cause: error,
    });
  }
  return error;
}

/** herd's tables that SQLite's integrity check faults, read through a connection of its own. */
function damagedTables(path: string, migrations: readonly Migration[]): string[] {
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    return [...expectedShape(migrations).keys()].filter((table) => {
      try {
        const result = db.pragma(`integrity_check(${table})`, { simple: true });
        return result !== 'ok';
      } catch {
        return true;
      }
    });
  } finally {
    db.close();
  }
}
