/**
 * bench/build: herd build vs `mmdebstrap --variant=extract` for the example's package set, in the
 * same run on the same machine, both with a warm package cache. Prints the times, their ratio, the
 * sizes, and whether two cold builds give the same digest.
 *
 *   npm run bench:build [-- --runs 3]
 */
import { spawnSync } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Lock } from '../src/builder/lock-file.js';
import { sourcesForSpec } from '../src/builder/resolve-lock.js';
import type { KeyringRef } from '../src/debian/sources.js';
import { loadSpec } from '../src/specfile/load.js';
import { mmdebstrapExtract } from './support/mmdebstrap.js';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;
const work = await mkdtemp(join(tmpdir(), 'herd-bench-build-'));

function herd(args: string[], home: string): { seconds: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, HERD_HOME: home },
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`herd ${args.join(' ')} failed:\n${result.stderr}`);
  return { seconds, stdout: result.stdout };
}

function digestOf(stdout: string): string {
  return /digest\s+(sha256:[0-9a-f]{64})/.exec(stdout)?.[1] ?? 'none';
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const which = spawnSync('sh', ['-c', 'command -v mmdebstrap'], { encoding: 'utf8' });
if (which.status !== 0) {
  console.error('mmdebstrap not found: run scripts/setup.sh or apt-get install mmdebstrap');
  process.exit(2);
}

// A private copy of the example, so the bench writes no lock into the repository.
const specDir = join(work, 'hello');
await cp(join(root, 'examples/hello'), specDir, { recursive: true });
await rm(join(specDir, 'herd.lock'), { force: true });

console.log('herd build: two cold builds in fresh HERD_HOMEs…');
const homeA = join(work, 'home-a');
const homeB = join(work, 'home-b');
const coldA = herd(['build', specDir], homeA);
const coldB = herd(['build', specDir], homeB);
const reproducible = digestOf(coldA.stdout) === digestOf(coldB.stdout);

console.log(`herd build: ${runs} warm builds…`);
// Timed without the gate, which herd build runs by default: mmdebstrap only unpacks, so the
// like-for-like comparison is the build alone. The gate has its own bench (bench/gate.ts).
const buildOnly = ['build', specDir, '--no-gate'];
const herdTimes: number[] = [];
for (let i = 0; i < runs; i++) herdTimes.push(herd(buildOnly, homeA).seconds);
// The same with only the .deb cache warm: every package decompressed and every layer compressed anew.
const herdDebsOnlyTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  await rm(join(homeA, 'cache/unpacked'), { recursive: true, force: true });
  await rm(join(homeA, 'cache/layers'), { recursive: true, force: true });
  herdDebsOnlyTimes.push(herd(buildOnly, homeA).seconds);
}

// The same packages for mmdebstrap, from herd's verified cache, so neither side downloads a .deb.
const lock = JSON.parse(await readFile(join(specDir, 'herd.lock'), 'utf8')) as Lock;
const debDir = join(work, 'debs');
await mkdir(debDir, { recursive: true });
for (const pkg of lock.packages) {
  const name = `${pkg.name}_${pkg.version.replace(':', '%3a')}_${pkg.architecture}.deb`;
  await copyFile(join(homeA, 'cache/debs/sha256', pkg.sha256), join(debDir, name));
}
const loaded = await loadSpec(specDir);
const mirrors = sourcesForSpec(loaded).map(
  (s) => `deb [signed-by=${keyringPath(s.keyring)}] ${s.uri} ${s.suite} ${s.components.join(' ')}`,
);
const mmdebstrapTimes: number[] = [];
const tarPath = join(work, 'mmdebstrap.tar');
console.log(`mmdebstrap --variant=extract: ${runs} runs…`);
for (let i = 0; i < runs; i++) {
  const started = process.hrtime.bigint();
  mmdebstrapExtract({ lock, debDir, mirrors, output: tarPath });
  mmdebstrapTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
}

const herdSummary = herd(['build', specDir, '--json'], homeA);
const built = JSON.parse(herdSummary.stdout) as { size: number; unpackedSize: number; packageCount: number };
const mmSize = (await stat(tarPath)).size;
const herdMedian = median(herdTimes);
const mmMedian = median(mmdebstrapTimes);
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

console.log('');
console.log(
  `packages                      ${lock.packages.length} (${lock.packages.map((p) => p.name).join(' ')})`,
);
console.log(
  `herd build, warm (median)     ${herdMedian.toFixed(2)} s   runs: ${herdTimes.map((t) => t.toFixed(2)).join(' ')}`,
);
console.log(
  `herd build, debs cache only   ${median(herdDebsOnlyTimes).toFixed(2)} s   runs: ${herdDebsOnlyTimes.map((t) => t.toFixed(2)).join(' ')} (no unpacked or layer reuse)`,
);
console.log(`herd build, cold              ${coldA.seconds.toFixed(2)} s (downloads included)`);
console.log(
  `mmdebstrap extract (median)   ${mmMedian.toFixed(2)} s   runs: ${mmdebstrapTimes.map((t) => t.toFixed(2)).join(' ')}`,
);
console.log(`time ratio herd/mmdebstrap    ${(herdMedian / mmMedian).toFixed(2)}x   (goal: at most 0.5x)`);
console.log(`  with the debs cache only    ${(median(herdDebsOnlyTimes) / mmMedian).toFixed(2)}x`);
console.log(`herd image, compressed        ${mb(built.size)} (${mb(built.unpackedSize)} unpacked)`);
console.log(`mmdebstrap tarball            ${mb(mmSize)}`);
console.log(`size ratio herd/mmdebstrap    ${(built.size / mmSize).toFixed(2)}x   (goal: below 1x)`);
console.log(`two cold builds, same digest  ${reproducible ? 'yes' : 'NO'} (${digestOf(coldA.stdout)})`);
await rm(work, { recursive: true, force: true });
process.exitCode = reproducible ? 0 : 1;

function keyringPath(ref: KeyringRef): string {
  if (ref.kind === 'files' && ref.paths[0]) return ref.paths[0];
  throw new Error('bench/build needs a keyring file for each source');
}
