/**
 * The CLI as a user runs it: compiled by scripts/build.ts (what `npm run build` does for dist/cli),
 * into a directory of the bench's own, so a bench times what `bin` runs, without tsx's start-up
 * and compile-on-load, and another bench or `npm run build` rewriting dist/cli meanwhile cannot
 * change what it times.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * The arguments `bin` gives node for `entry`: the flags of its #! line (`#!/usr/bin/env node`, or
 * `#!/usr/bin/env -S node <flags>`), then the entry. A bench that spawns node itself, to time it
 * beside `node -e 0` with the same binary, so times what the installed herd runs: a flag on the #!
 * line once made a warm gate 20 ms slower while the gate bench, which left it out, did not show it.
 */
export function nodeArgsOf(entry: string): string[] {
  const first = readFileSync(entry, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env (?:-S )?node((?: +\S+)*) *$/.exec(first);
  if (!match) throw new Error(`${entry}: expected a #!/usr/bin/env node line, found "${first}"`);
  return [...(match[1] ?? '').split(' ').filter(Boolean), entry];
}
