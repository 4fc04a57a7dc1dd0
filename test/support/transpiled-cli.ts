/**
 * The herd CLI as the tests spawn it: src/ transpiled once to JavaScript, file by file, with the
 * esbuild that tsx itself runs and tsx's options, so each test spawns plain `node main.js`.
 *
 * Why: under `node --import tsx`, every module of every spawn goes through tsx's resolve and load
 * hooks on another thread; measured on this project's CI machine that tripled the CPU a CLI spawn
 * costs (about 1 s of CPU against 3 s for `herd catalog`), and the suite spawns the CLI hundreds of
 * times. The code that runs is the same: the transform is tsx's, only done ahead of time.
 *
 * The copy lives in node_modules/.cache/herd-test-cli/<key>, where the key hashes every file under
 * src/, package.json, tsconfig.json and the esbuild and Node versions: an edit to src/ gives a new
 * copy, never a stale one. Test files run in parallel processes: each builds into a folder of its
 * own and renames it into place, so a reader sees a whole copy or none. A transform error fails the
 * spawn's caller with esbuild's message, as tsx would at load.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const projectRoot = join(import.meta.dirname, '../..');
const cacheRoot = join(projectRoot, 'node_modules', '.cache', 'herd-test-cli');
/** Copies older than this are removed when a new one is made: no test process still uses them. */
const staleAfterMs = 2 * 60 * 60 * 1000;

/** esbuild as tsx resolves it: tsx declares it, so it is there wherever tsx is. */
const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))(
  'esbuild',
) as typeof import('esbuild');

let entry: string | undefined;

/** The node arguments that run the herd CLI: `[...herdCliArgs(), 'build', dir]`. */
export function herdCliArgs(): string[] {
  entry ??= transpiledEntry();
  return [entry];
}

function transpiledEntry(): string {
  const sources = filesUnder(join(projectRoot, 'src'));
  const key = keyOf(sources);
  const copy = join(cacheRoot, key);
  const main = join(copy, 'src', 'cli', 'main.js');
  if (existsSync(main)) return main;

  mkdirSync(cacheRoot, { recursive: true });
  const building = join(cacheRoot, `.${key}-${process.pid}-${Date.now()}`);
  try {
    const typescript = sources.filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    esbuild.buildSync({
      entryPoints: typescript,
      outdir: join(building, 'src'),
      outbase: join(projectRoot, 'src'),
      bundle: false,
      platform: 'node',
      format: 'esm',
      // As tsx transforms: keepNames, the running Node as the target, the project's tsconfig.json.
      target: `node${process.versions.node}`,
      keepNames: true,
      tsconfig: join(projectRoot, 'tsconfig.json'),
      logLevel: 'silent',
    });
    // Whatever else src/ holds stays beside the modules, as they see it there.
    for (const file of sources.filter((file) => !file.endsWith('.ts'))) {
      cpSync(file, join(building, relative(projectRoot, file)));
    }
    // herd-version.ts reads ../../package.json, and "type": "module" makes the .js files ESM.
    cpSync(join(projectRoot, 'package.json'), join(building, 'package.json'));
    renameSync(building, copy);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    // Another test process put the same copy in place first.
    if (!existsSync(main)) throw error;
  }
  removeStaleCopies(key);
  return main;
}

function keyOf(sources: string[]): string {
  const hash = createHash('sha256');
  hash.update(`node ${process.versions.node} esbuild ${esbuild.version}\n`);
  for (const file of [...sources, join(projectRoot, 'package.json'), join(projectRoot, 'tsconfig.json')]) {
    hash.update(`${relative(projectRoot, file)}\n`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 24);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function removeStaleCopies(current: string): void {
  for (const name of readdirSync(cacheRoot)) {
    if (name === current) continue;
    const path = join(cacheRoot, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > staleAfterMs) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another test process meanwhile.
    }
  }
}
