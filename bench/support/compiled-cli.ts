/**
 * The CLI as a user runs it: compiled by scripts/build.ts (what `npm run build` does for dist/cli),
 * into a directory of the bench's own, so a bench times what `bin` runs, without tsx's start-up
 * and compile-on-load, and another bench or `npm run build` rewriting dist/cli meanwhile cannot
 * change what it times.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * Compiles the CLI into dist/<name> and returns its entry, to be run as `bin` runs it: executed,
 * its #! line naming node and the flags node runs it with.
 */
export function compiledCli(name: string): string {
  const outdir = join(root, 'dist', name);
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'build.ts'), '--outdir', outdir], {
    cwd: root,
    stdio: 'inherit',
  });
  return join(outdir, 'main.js');
}
