/**
 * herd.db's tables as the migrations made them. `user_version` says which migrations ran, not
 * that their tables are still there: someone with the sqlite3 CLI can drop or recreate a table, and
 * every later query would fail with SQLite's bare "no such table". openStateDb compares the file with
 * the migrations replayed in memory, so such a file is refused at open, naming the file and table.
 */
import { createHash } from 'node:crypto';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { StateError } from './errors.js';
import { type Migration, runMigrations } from './migrate.js';
import { recordedSchema } from './recorded-schema.js';

/** One table: its columns as `name type [not null] [pk n]`, in order, and the area that owns it. */
export interface TableShape {
  area: string;
  columns: string[];
}

export type SchemaShape = Map<string, TableShape>;

export type SchemaDamage =
  | { kind: 'missing'; table: string; area: string }
  | { kind: 'columns'; table: string; area: string; found: string[]; expected: string[] };

const replayed = new WeakMap<readonly Migration[], SchemaShape>();

/**
 * The shape the migrations create: the one recorded in recorded-schema.ts when it was recorded
 * from these very migrations (their digest says so), else replayed once per list into an in-memory
 * database. Replaying twelve migrations costs 10–25 ms, on every command that opens herd.db; the
 * record makes it a hash of their text. A migration added without recording again is only slower,
 * never wrong: its digest differs, and the shape is replayed.
 */
export function expectedShape(migrations: readonly Migration[]): SchemaShape {
  let shape = replayed.get(migrations);
  if (!shape) {
    shape =
      migrationsDigest(migrations) === recordedSchema.migrationsSha256
        ? recordedShape()
        : replayShape(migrations);
    replayed.set(migrations, shape);
  }
  return shape;
}

/** The sha256 of every migration's version, area, name and SQL, in order. */
export function migrationsDigest(migrations: readonly Migration[]): string {
  return createHash('sha256')
    .update(JSON.stringify(migrations.map((m) => [m.version, m.area, m.name, m.sql])))
    .digest('hex');
}

function recordedShape(): SchemaShape {
  return new Map(
    Object.entries(recordedSchema.tables).map(([table, { area, columns }]) => [
      table,
      { area, columns: [...columns] },
    ]),
  );
}

/** The shape the migrations create, replayed into an in-memory database. */
export function replayShape(migrations: readonly Migration[]): SchemaShape {
  const db = new BetterSqlite3(':memory:');
  try {
    // One migration at a time, so each new table is owned by the area whose migration made it.
    const owners = new Map<string, string>();
    migrations.forEach((migration, index) => {
      runMigrations(db, migrations.slice(0, index + 1));
      for (const table of tableNames(db)) if (!owners.has(table)) owners.set(table, migration.area);
    });
    return shapeOf(db, owners);
  } finally {
    db.close();
  }
}

function tableNames(db: Database): string[] {
  return db
    .prepare<[], string>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .pluck()
    .all();
}

/** The tables of `db` and their columns; `owners` names the area of each (absent: not herd's). */
export function shapeOf(db: Database, owners: Map<string, string> = new Map()): SchemaShape {
  const rows = db
    .prepare<[], { tableName: string; name: string; type: string; notnull: number; pk: number }>(
      `SELECT m.name AS tableName, c.name, c.type, c."notnull", c.pk
       FROM sqlite_schema m JOIN pragma_table_info(m.name) c
       WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
       ORDER BY m.name, c.cid`,
    )
    .all();
  const shape: SchemaShape = new Map();
  for (const row of rows) {
    const table = shape.get(row.tableName) ?? { area: owners.get(row.tableName) ?? 'unknown', columns: [] };
    const column = [
      row.name,
      row.type.toLowerCase(),
      row.notnull ? 'not null' : '',
      row.pk ? `pk ${row.pk}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    table.columns.push(column);
    shape.set(row.tableName, table);
  }
  return shape;
}

/** The first expected table that is missing or has other columns; tables herd does not know are left alone. */
export function findSchemaDamage(expected: SchemaShape, found: SchemaShape): SchemaDamage | undefined {
  for (const [table, shape] of expected) {
    const actual = found.get(table);
    if (!actual) return { kind: 'missing', table, area: shape.area };
    if (actual.columns.join(',') !== shape.columns.join(',')) {
      return { kind: 'columns', table, area: shape.area, found: actual.columns, expected: shape.columns };
    }
  }
  return undefined;
}

/** Throws SCHEMA_DAMAGED, naming `path` and the table, when `db` does not have the migrations' tables. */
export function checkSchema(db: Database, migrations: readonly Migration[], path: string): void {
  const damage = findSchemaDamage(expectedShape(migrations), shapeOf(db));
  if (!damage) return;
  const restore =
    'restore the file from a backup (herd journal --verify then checks it against its checkpoint)';
  if (damage.kind === 'missing') {
    throw new StateError(
      'SCHEMA_DAMAGED',
      `state database ${path} has no table ${damage.table} (${damage.area}), though its schema version says it should: it was dropped or the file was replaced; ${restore}`,
    );
  }
  throw new StateError(
    'SCHEMA_DAMAGED',
    `table ${damage.table} (${damage.area}) in state database ${path} has columns (${damage.found.join(', ')}), expected (${damage.expected.join(', ')}); ${restore}`,
  );
}
