/**
 * `npm run build`: compiles the CLI into dist/cli/, the `herd` that package.json's `bin` names and
 * `npm pack` ships, so an installed herd runs on plain Node, without tsx.
 *
 * Usage: node --import tsx scripts/build.ts [--outdir <dir>]   (default dist/cli)
 *
 * esbuild bundles src/cli/main.ts with code splitting: each dynamic import of a command module in
 * main.ts becomes its own file, loaded when that command runs, and code several of them share
 * goes into chunks beside them. Start-up resolves a few dozen files instead of four hundred
 * modules, and `herd --version` loads main.js, commander and two small chunks. An import of a
 * folder's index.ts is pointed at the modules that define what it takes (barrel-imports.ts), so a
 * command's chunks hold only the code it can run: `herd gate` loads no openpgp, no registry client
 * and no Packages index parser.
 *
 * zod, yaml and commander are bundled in: each is many small modules that Node resolves and loads
 * one by one (zod alone about 100 ms; bundled, 30 ms), on the path of every command that reads a
 * herd.yaml, `herd gate` among them, and commander on every command's. Node resolves the other npm dependencies at run time, as
 * installed: better-sqlite3, @napi-rs/lzma and @napi-rs/xattr are native, pino starts its
 * transports by package name, and the rest are loaded by few commands. It does not type-check:
 * `npm run typecheck` does, and `npm test`.
 *
 * Every output file lands directly in the outdir, two levels below the package root as the sources
 * in src/cli/ are, so what finds a file by its own URL (herd-version.ts reads ../../package.json)
 * finds the same file from the build.
 */
import { createHash } from 'node:crypto';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { barrelImports } from './barrel-imports.js';
import { listTypeScriptFiles } from './import-graph.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(root, 'dist', 'cli'));
/**
 * Pure JavaScript, many files: zod and yaml on the path of the commands that read a spec, commander
 * on every command's (its seven CommonJS files cost 30–40 ms to resolve, wrap and compile; bundled,
 * one module).
 */
const bundled = ['zod', 'yaml', 'commander'];
const { dependencies } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const external = Object.keys(dependencies)
  .filter((name) => !bundled.includes(name))
  .flatMap((name) => [name, `${name}/*`]);

/**
 * HERD_BUILD_ID (src/cli/build-id.ts): the sha256 of every source module and of package-lock.json,
 * so that what one build derived and cached (a validated spec) is never taken by another.
 */
const buildHash = createHash('sha256');
for (const file of [
  ...listTypeScriptFiles(root, 'src').filter((f) => !f.endsWith('.test.ts')),
  'package-lock.json',
]) {
  buildHash
    .update(`${file}\n`)
    .update(await readFile(join(root, file)))
    .update('\n');
}
const buildId = buildHash.digest('hex');

/**
 * zod's `z.locales` names its error messages in some sixty languages, 360 kB that each command
 * reading a spec would load and compile (12 ms). herd speaks English only, which zod sets itself:
 * `z.locales` in the build holds `en` alone.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(plugins) {
    plugins.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /\/node_modules\/zod\//.test(args.importer)
        ? { path: join(args.resolveDir, '..', 'locales', 'en.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    plugins.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: root,
    }));
  },
};

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
  external,
  plugins: [barrelImports(join(root, 'src')), zodEnglishOnly],
  define: { HERD_BUILD_ID: JSON.stringify(buildId) },
  // yaml is CommonJS and requires Node's modules by name: each output file gets a require of its own.
  banner: {
    js: "import { createRequire as herdRequire } from 'node:module'; const require = herdRequire(import.meta.url);",
  },
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // The #! line of main.ts is kept; the rest of the comments are not needed to run.
  legalComments: 'none',
});
// The launcher's #! line is main.ts's own, plain `#!/usr/bin/env node`, with no V8 flags. It once
// passed --max-semi-space-size=8, which lowered a cold build's peak by about 20 MB while resolving
// kept every Packages record. Resolving keeps far less now, and the flag no longer lowers that peak
// (a cold build of examples/hello without a lock, 2 runs each: 170-175 MB with it, 172-179 MB
// without), while it made a warm `herd gate` about 20 ms slower (314 against 293 ms median over 20
// interleaved runs), when that command's goal is 300 ms.
const entry = join(outdir, 'main.js');
if (!(await readFile(entry, 'utf8')).startsWith('#!/usr/bin/env node\n'))
  throw new Error(`${entry} does not start with main.ts's #! line`);
await chmod(entry, 0o755);
