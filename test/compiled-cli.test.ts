/**
 * The compiled CLI, as `npm install` lays it out: `npm run build` into a temporary package whose
 * node_modules holds package.json's runtime dependencies only (no tsx, no esbuild, no TypeScript),
 * run by plain `node` through the path package.json's `bin` names. The rest of the suite spawns the
 * sources; this checks what ships.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { writeSpecScaffold } from '../src/specfile/index.js';
import { projectRoot } from './support/cli.js';

interface PackageJson {
  version: string;
  bin: { herd: string };
  files: string[];
  dependencies: Record<string, string>;
}

const manifest: PackageJson = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8'));

describe('the compiled herd (npm run build)', () => {
  let scratch: string;
  let pkg: string;
  let herd: string;
  /** `--import` of a module hook that appends each file Node loads to `<scratch>/loaded-<name>`. */
  let recordLoads: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'herd-compiled-'));
    pkg = join(scratch, 'herd');
    const built = spawnSync('npm', ['run', '--silent', 'build', '--', '--outdir', join(pkg, 'dist', 'cli')], {
      cwd: projectRoot,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(built.status, 0, `npm run build failed: ${built.stderr}`);
    await writeFile(join(pkg, 'package.json'), JSON.stringify(manifest));
    // Only what `dependencies` names; each one's own dependencies resolve from its real path.
    for (const name of Object.keys(manifest.dependencies)) {
      const link = join(pkg, 'node_modules', name);
      await mkdir(dirname(link), { recursive: true });
      await symlink(join(projectRoot, 'node_modules', name), link, 'dir');
    }
    herd = join(pkg, manifest.bin.herd);

    recordLoads = join(scratch, 'record-loads.mjs');
    await writeFile(
      join(scratch, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.HERD_TEST_LOADED, url + '\\n');
  return next(url, context);
}
`,
    );
    await writeFile(
      recordLoads,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(scratch, 'hooks.mjs')).href)});\n`,
    );
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  function run(args: string[], options: { cwd?: string; record?: string } = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env, HERD_HOME: join(scratch, 'home') };
    delete env.NODE_OPTIONS;
    const loads = options.record ? join(scratch, `loaded-${options.record}`) : undefined;
    if (loads) env.HERD_TEST_LOADED = loads;
    const result = spawnSync(process.execPath, [...(loads ? ['--import', recordLoads] : []), herd, ...args], {
      cwd: options.cwd ?? scratch,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { ...result, loads };
  }

  /** The files of the package a run loaded: `dist/cli/<file>` and `node_modules/<package>`. */
  async function loadedBy(list: string): Promise<{ dist: string[]; packages: string[] }> {
    const urls = (await readFile(list, 'utf8')).split('\n').filter(Boolean);
    const paths = urls.map((url) => new URL(url).pathname);
    const dist = paths.filter((path) => path.startsWith(join(pkg, 'dist'))).map((path) => basename(path));
    const packages = paths
      .map((path) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1])
      .filter((name): name is string => name !== undefined);
    return { dist: [...new Set(dist)].sort(), packages: [...new Set(packages)].sort() };
  }

  it('ships what bin names, an executable with a #! line, inside the files npm packs', async () => {
    assert.ok(existsSync(herd), `bin ${manifest.bin.herd} is not in the build`);
    assert.match(await readFile(herd, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok(
      manifest.files.some((entry) => manifest.bin.herd.startsWith(`${entry}/`)),
      `package.json files ${JSON.stringify(manifest.files)} leaves out bin ${manifest.bin.herd}`,
    );
    const emitted = await readdir(dirname(herd));
    assert.deepEqual(
      emitted.filter((file) => !file.endsWith('.js')),
      [],
      'the build emits JavaScript only',
    );
  });

  it('runs as the shell runs bin, through its #! line and the node flags on it', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HERD_HOME: join(scratch, 'home') };
    delete env.NODE_OPTIONS;
    const result = spawnSync(herd, ['--version'], { cwd: scratch, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), manifest.version);
  });

  it('prints the version from package.json, loading no command and no package (commander is bundled)', async () => {
    const result = run(['--version'], { record: 'version' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), manifest.version);
    const loaded = await loadedBy(result.loads!);
    assert.deepEqual(loaded.packages, [], 'commander is bundled into the build, nothing else loads');
    assert.deepEqual(
      loaded.dist.filter((file) => !/^(main|chunk-[A-Z0-9]+)\.js$/.test(file)),
      [],
      'a command module loaded for --version',
    );
  });

  it('prints the help of every command without loading one', async () => {
    const result = run(['--help'], { record: 'help' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: herd /);
    for (const command of ['init', 'build', 'gate', 'serve', 'up', 'fim', 'pipeline', 'approve']) {
      assert.match(result.stdout, new RegExp(`\\n  ${command} `), `--help does not list ${command}`);
    }
    const loaded = await loadedBy(result.loads!);
    assert.deepEqual(loaded.packages, [], 'commander is bundled into the build, nothing else loads');
    assert.deepEqual(
      loaded.dist.filter((file) => !/^(main|chunk-[A-Z0-9]+)\.js$/.test(file)),
      [],
    );
    const vulndb = run(['vulndb', 'update', '--help']);
    assert.match(vulndb.stdout, /--from <url\|file>/);
  });

  it('runs herd init, loading its command, and writes what the sources write', async () => {
    const dir = join(scratch, 'svc');
    const result = run(['init', dir, '--packages', 'nodejs,curl'], { record: 'init' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `wrote ${join(dir, 'herd.yaml')}\n`);
    const loaded = await loadedBy(result.loads!);
    assert.ok(
      loaded.dist.some((file) => file.startsWith('init-')),
      `herd init ran without loading its module: ${loaded.dist.join(', ')}`,
    );

    assert.ok(
      !loaded.dist.some((file) => file.startsWith('journal-checkpointing-')),
      'herd init journals nothing, yet loaded what signs a checkpoint',
    );

    const fromSources = join(scratch, 'sources', 'svc');
    await writeSpecScaffold(fromSources, { service: 'svc', packages: ['nodejs', 'curl'] });
    assert.equal(
      await readFile(join(dir, 'herd.yaml'), 'utf8'),
      await readFile(join(fromSources, 'herd.yaml'), 'utf8'),
    );
  });

  it('loads the journal checkpoint after a command that journaled, and signs none without a key', async () => {
    const result = run(['token', 'create', '--role', 'viewer', '--name', 'ci'], { record: 'token' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /created viewer token ci/);
    const loaded = await loadedBy(result.loads!);
    assert.ok(
      loaded.dist.some((file) => file.startsWith('journal-checkpointing-')),
      `the journal moved, yet no checkpoint was tried: ${loaded.dist.join(', ')}`,
    );
    // No signing key in this HERD_HOME: nothing to sign with, and nothing said about it.
    assert.ok(!existsSync(join(scratch, 'home', 'journal.checkpoint')));
    assert.doesNotMatch(result.stderr, /checkpoint/);
  });

  it('reports a failing command as herd does, exit 2 naming what was not found', () => {
    const result = run(['image', 'inspect', 'no-such-image']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^herd: no image named no-such-image in the store at /);
    assert.doesNotMatch(result.stderr, /unexpected error|ERR_MODULE_NOT_FOUND/);
  });

  it('exits 1 on an unknown command, naming it', () => {
    const result = run(['no-such-command']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /unknown command 'no-such-command'/);
  });
});
