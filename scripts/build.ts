/**
 * `npm run build`: compiles the CLI into dist/cli/, the `herd` that package.json's `bin` names and
 * `npm pack` ships, so an installed herd runs on plain Node, without tsx.
 *
 * Usage: node --import tsx scripts/build.ts [--outdir <dir>]   (default dist/cli)
 *
 * esbuild bundles src/cli/main.ts with code splitting: each dynamic import of a command module in
 * main.ts becomes its own file, loaded when that command runs, and code several of them share
 * goes into chunks beside them. Start-up resolves a few dozen files instead of four hundred
 * modules, and `herd --version` loads main.js, commander and two small chunks. The npm
 * dependencies stay outside the bundle (better-sqlite3 and @napi-rs/lzma are native, and npm
 * installs the rest as usual). It does not type-check: `npm run typecheck` does, and `npm test`.
 *
 * Every output file lands directly in the outdir, two levels below the package root as the sources
 * in src/cli/ are, so what finds a file by its own URL (herd-version.ts reads ../../package.json)
 * finds the same file from the build.
 */
import { chmod, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(root, 'dist', 'cli'));

// The chunks' names carry a hash of their content: a build over an old one would leave the old
// chunks behind, and npm pack would ship them.
await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // The #! line of main.ts is kept; the rest of the comments are not needed to run.
  legalComments: 'none',
});
await chmod(join(outdir, 'main.js'), 0o755);
