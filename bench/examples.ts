/**
 * bench/examples: for each example in examples/, the image's size next to an
 * `mmdebstrap --variant=extract` tarball of the same packages (both gzipped by igzip -3: herd's
 * layers against the tarball), and the time from starting `herd up` to the fleet being healthy, cold (a fresh
 * HERD_HOME: lock, download, unpack) and warm (the same home again: caches and the store reused).
 *
 *   npm run bench:examples [-- nginx redis]
 *
 * haproxy runs without its hello backend (HELLO_ADDRESS names a closed port): its health check is
 * its own /healthz, so it is healthy all the same, and the bench times haproxy alone.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Lock } from '../src/builder/lock-file.js';
import { sourcesForSpec } from '../src/builder/resolve-lock.js';
import type { KeyringRef } from '../src/debian/sources.js';
import { igzipChunks } from '../src/oci/igzip.js';
import { loadSpec } from '../src/specfile/load.js';
import { mmdebstrapExtract } from './support/mmdebstrap.js';

const root = resolve(import.meta.dirname, '..');
const all = ['hello', 'nginx', 'python', 'java', 'redis', 'haproxy', 'busybox-httpd'];
const asked = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const examples = asked.length > 0 ? asked : all;
const extraEnv: Record<string, Record<string, string>> = { haproxy: { HELLO_ADDRESS: '127.0.0.1:9' } };

for (const name of examples) {
  if (!all.includes(name)) {
    console.error(`bench:examples: no example "${name}"; expected one of ${all.join(', ')}`);
    process.exit(2);
  }
}
if (spawnSync('sh', ['-c', 'command -v mmdebstrap']).status !== 0) {
  console.error('mmdebstrap not found: run scripts/setup.sh or apt-get install mmdebstrap');
  process.exit(2);
}

const work = await mkdtemp(join(tmpdir(), 'herd-bench-examples-'));
// Short: podman refuses a run root (HERD_HOME/engine/run) longer than 50 characters.
const homes = await mkdtemp(join(tmpdir(), 'hbx-'));

/** Seconds from spawning `herd up` to its "is complete" line, then Ctrl-C and wait for it to stop. */
async function timeUp(dir: string, home: string, env: Record<string, string>): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'up', dir], {
    cwd: root,
    env: { ...process.env, HERD_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const healthy = await new Promise<boolean>((done) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/ is complete: /.test(output)) done(true);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => done(false));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await stopChild(child);
  if (!healthy) throw new Error(`herd up ${dir} never became healthy:\n${output.slice(-3000)}`);
  return seconds;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGINT');
  await exited;
}

function herd(args: string[], home: string): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, HERD_HOME: home },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`herd ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/**
 * mmdebstrap --variant=extract of the lock's packages, from herd's verified .deb cache, as a tar
 * gzipped the way herd gzips its layers (igzip -3), so the sizes compare like for like.
 */
async function mmdebstrapSize(dir: string, home: string, lock: Lock): Promise<number> {
  const debDir = join(work, 'debs', lock.packages.length.toString(), dir.replace(/\W/g, '-'));
  await mkdir(debDir, { recursive: true });
  for (const pkg of lock.packages) {
    const file = `${pkg.name}_${pkg.version.replace(':', '%3a')}_${pkg.architecture}.deb`;
    await copyFile(join(home, 'cache/debs/sha256', pkg.sha256), join(debDir, file));
  }
  const mirrors = sourcesForSpec(await loadSpec(dir)).map(
    (s) => `deb [signed-by=${keyringPath(s.keyring)}] ${s.uri} ${s.suite} ${s.components.join(' ')}`,
  );
  const tarball = join(work, `${lock.packages.length}-${Date.now()}.tar`);
  mmdebstrapExtract({ lock, debDir, mirrors, output: tarball });
  let size = 0;
  for await (const chunk of igzipChunks(createReadStream(tarball), { level: 3, name: tarball })) {
    size += chunk.length;
  }
  await rm(tarball, { force: true });
  await rm(debDir, { recursive: true, force: true });
  return size;
}

function keyringPath(ref: KeyringRef): string {
  if (ref.kind === 'files' && ref.paths[0]) return ref.paths[0];
  throw new Error('bench/examples needs a keyring file for each source');
}

interface Row {
  name: string;
  packages: number;
  herdBytes: number;
  mmdebstrapBytes: number;
  coldSeconds: number;
  warmSeconds: number;
}

const rows: Row[] = [];
for (const name of examples) {
  // A private copy, so the bench writes no lock into the repository; a fresh home, so cold is cold.
  const dir = join(work, 'specs', name);
  await cp(join(root, 'examples', name), dir, { recursive: true });
  await rm(join(dir, 'herd.lock'), { force: true });
  const home = join(homes, String(rows.length));
  console.log(`${name}: herd up, cold…`);
  const coldSeconds = await timeUp(dir, home, extraEnv[name] ?? {});
  console.log(`${name}: herd up, warm…`);
  const warmSeconds = await timeUp(dir, home, extraEnv[name] ?? {});
  const built = JSON.parse(herd(['build', dir, '--json', '--no-gate'], home)) as { size: number };
  const lock = JSON.parse(await readFile(join(dir, 'herd.lock'), 'utf8')) as Lock;
  console.log(`${name}: mmdebstrap --variant=extract of the same ${lock.packages.length} packages…`);
  const mmdebstrapBytes = await mmdebstrapSize(dir, home, lock);
  rows.push({
    name,
    packages: lock.packages.length,
    herdBytes: built.size,
    mmdebstrapBytes,
    coldSeconds,
    warmSeconds,
  });
  await rm(home, { recursive: true, force: true });
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const table = [
  ['example', 'packages', 'herd image', 'mmdebstrap, igzip -3', 'ratio', 'up→healthy cold', 'warm'],
  ...rows.map((r) => [
    r.name,
    String(r.packages),
    mb(r.herdBytes),
    mb(r.mmdebstrapBytes),
    `${(r.herdBytes / r.mmdebstrapBytes).toFixed(2)}x`,
    `${r.coldSeconds.toFixed(1)} s`,
    `${r.warmSeconds.toFixed(1)} s`,
  ]),
];
const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
console.log('');
for (const row of table) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
console.log('');
console.log(
  'sizes: both gzipped by igzip -3, herd image (its layers) against the mmdebstrap tarball; goal below 1x',
);
console.log('up→healthy: from starting herd up to the fleet complete (lock, build, gate, sign, rollout)');
await rm(work, { recursive: true, force: true });
await rm(homes, { recursive: true, force: true });
