/**
 * Writes src/state/recorded-schema.ts: the tables herd.db's migrations create, replayed here once,
 * so that opening herd.db compares with this record instead of replaying the migrations on every
 * command (src/state/schema-check.ts). Run it after adding a migration; src/state/recorded-schema.test.ts
 * fails until it is.
 *
 * Usage: node --import tsx scripts/record-state-schema.ts
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stateMigrations } from '../src/state/index.js';
import { migrationsDigest, replayShape } from '../src/state/schema-check.js';

const root = resolve(import.meta.dirname, '..');
const path = join(root, 'src/state/recorded-schema.ts');
const tables = Object.fromEntries(replayShape(stateMigrations));
const text = `/**
 * The tables herd.db's migrations create, with the digest of the migrations they were replayed
 * from. Written by \`node --import tsx scripts/record-state-schema.ts\`; not edited by hand.
 */
export const recordedSchema: {
  migrationsSha256: string;
  tables: Record<string, { area: string; columns: readonly string[] }>;
} = ${JSON.stringify({ migrationsSha256: migrationsDigest(stateMigrations), tables }, null, 2)};
`;
await writeFile(path, text);
const format = spawnSync('npx', ['biome', 'format', '--write', path], { cwd: root, stdio: 'inherit' });
if (format.status !== 0) process.exitCode = 1;
process.stdout.write(`recorded ${Object.keys(tables).length} tables in ${path}\n`);
