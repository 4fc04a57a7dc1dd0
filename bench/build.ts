/**
 * bench/build: `herd build --no-gate` against `mmdebstrap --variant=extract` of the same packages,
 * interleaved round by round on the same machine, one line per cache state:
 *   - cold: an empty HERD_HOME, without a lock (herd resolves: InRelease, Packages indexes,
 *     dependencies) and with one; mmdebstrap from nothing (its own apt-get update, .debs downloaded);
 *   - .debs cached: HERD_HOME holds only cache/debs (every .deb unpacked and every layer compressed
 *     anew); mmdebstrap with the same .debs in its apt cache (it still runs its own apt-get update);
 *   - everything cached: HERD_HOME as the last build left it (.debs, unpacked tars, layers,
 *     indexes, store); mmdebstrap with the .debs in its apt cache, its best case.
 * Each time is a process's wall time, spawn to exit; cpu is /usr/bin/time -v's user plus system
 * seconds, the processes it waited for included (herd's xz decoders, mmdebstrap's apt and dpkg),
 * which shows how much of a ratio is work and how much is cores used at once; peak memory is
 * /usr/bin/time -v's maximum resident set size (the largest process, the decoders herd starts
 * included). herd is the compiled
 * CLI (scripts/build.ts into dist/bench-build), as `bin` runs it. The gate is left
 * out (--no-gate) since mmdebstrap only unpacks; bench/gate times it.
 * Sizes are compared like for like: herd's gzip layers against mmdebstrap's tarball gzipped by the
 * same encoder at the same level (igzip -3), and the sum of regular files' sizes of each root filesystem unpacked. Two cold builds
 * in fresh HERD_HOMEs under different directories must give the same digest.
 *
 *   npm run bench:build [-- --runs 3] [-- --spec examples/hello]
 */
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';
import type { Lock } from '../src/builder/lock-file.js';
import { sourcesForSpec } from '../src/builder/resolve-lock.js';
import type { KeyringRef } from '../src/debian/sources.js';
import { igzipChunks } from '../src/oci/igzip.js';
import { loadSpec } from '../src/specfile/load.js';
import { compiledCli } from './support/compiled-cli.js';
import { mmdebstrapCommand } from './support/mmdebstrap.js';
import { type TimedProcess, timedProcess } from './support/timed-process.js';

const root = resolve(import.meta.dirname, '..');
const argument = (name: string) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
};
const runs = Number(argument('--runs') ?? 3) || 3;
const specSource = resolve(root, argument('--spec') ?? 'examples/hello');
/** herd's layer gzip level (build-image.ts's default, igzip's), used for mmdebstrap's tarball too. */
const gzipLevel = 3;
const work = await mkdtemp(join(tmpdir(), 'herd-bench-build-'));
// The second cold HERD_HOME lives under another directory, to show paths do not reach the image.
const elsewhere = await mkdtemp(join('/var/tmp', 'herd-bench-build-elsewhere-'));
// The compiled CLI, as `bin` runs it: tsx would add its own start-up to every herd time.
const herdCli = compiledCli('bench-build');

type Run = TimedProcess;

/** Wall time from spawn to exit, and the peak RSS /usr/bin/time -v reports, run from the project root. */
const timed = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run =>
  timedProcess(command, args, { cwd: root, env });

function herdBuild(specDir: string, home: string): Run & { digest: string } {
  const run = timed(herdCli, ['build', specDir, '--no-gate', '--json'], {
    ...process.env,
    HERD_HOME: home,
  });
  const digest = (JSON.parse(run.stdout) as { digest: string }).digest;
  return { ...run, digest };
}

function mmdebstrap(options: { debDir?: string }): Run {
  if (!lock) throw new Error('mmdebstrap runs after the first herd build wrote the lock');
  const { args, env } = mmdebstrapCommand({
    lock,
    mirrors,
    output: mmTarball,
    ...(options.debDir ? { debDir: options.debDir } : {}),
  });
  return timed('mmdebstrap', args, env);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function keyringPath(ref: KeyringRef): string {
  if (ref.kind === 'files' && ref.paths[0]) return ref.paths[0];
  throw new Error('bench/build needs a keyring file for each source');
}

/** Sum of the sizes of the regular files under `dir`, and their count: the same walk for both trees. */
async function regularFiles(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        bytes += (await lstat(full)).size;
        files++;
      }
    }
  };
  await walk(dir);
  return { bytes, files };
}

/** The size of `path` gzipped as herd gzips a layer: igzip, at herd's level. */
async function gzippedSize(path: string): Promise<number> {
  let size = 0;
  for await (const chunk of igzipChunks(createReadStream(path), { level: gzipLevel, name: path })) {
    size += chunk.length;
  }
  return size;
}

function untar(tarball: string, into: string, options: { gzip?: boolean } = {}): void {
  const result = spawnSync('tar', [options.gzip ? '-xzf' : '-xf', tarball, '-C', into], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar -xf ${tarball} failed:\n${result.stderr}`);
}

/** The layers of a manifest in herd's OCI layout store, in order. */
async function layersOf(home: string, digest: string): Promise<{ path: string; size: number }[]> {
  const blob = (d: string) => join(home, 'store', 'blobs', 'sha256', d.replace('sha256:', ''));
  const manifest = JSON.parse(await readFile(blob(digest), 'utf8')) as {
    layers: { digest: string; size: number }[];
  };
  return manifest.layers.map((layer) => ({ path: blob(layer.digest), size: layer.size }));
}

if (spawnSync('sh', ['-c', 'command -v mmdebstrap']).status !== 0) {
  console.error('mmdebstrap not found: run scripts/setup.sh or apt-get install mmdebstrap');
  process.exit(2);
}

// Private copies of the spec, so the bench writes no lock into the repository: one that never
// keeps a lock (herd resolves each time), one that keeps the lock the first build wrote.
const unlockedSpec = join(work, 'spec-unlocked');
const lockedSpec = join(elsewhere, 'spec-locked');
await cp(specSource, unlockedSpec, { recursive: true });
await rm(join(unlockedSpec, 'herd.lock'), { force: true });
const loaded = await loadSpec(unlockedSpec);
const mirrors = sourcesForSpec(loaded).map(
  (s) => `deb [signed-by=${keyringPath(s.keyring)}] ${s.uri} ${s.suite} ${s.components.join(' ')}`,
);
const mmTarball = join(work, 'mmdebstrap.tar');
const debDir = join(work, 'debs');
const warmHome = join(work, 'home-warm');

console.log(
  `bench/build: herd build ${specSource} --no-gate against mmdebstrap --variant=extract of its lock's packages;`,
);
console.log(
  `${runs} rounds, interleaved, each: herd cold without a lock, mmdebstrap cold, herd cold with the lock, herd with .debs cached, mmdebstrap with .debs cached, herd with everything cached, mmdebstrap with .debs cached`,
);
console.log(
  'times: wall time of each process, spawn to exit; cpu: user + system seconds, children (xz, dpkg) included, median; peak: /usr/bin/time -v max RSS',
);

const runsOf = {
  herdColdUnlocked: [] as Run[],
  herdColdLocked: [] as Run[],
  mmCold: [] as Run[],
  herdDebs: [] as Run[],
  mmDebs: [] as Run[],
  herdWarm: [] as Run[],
  mmWarm: [] as Run[],
};
let lock: Lock | undefined;
const digests: { where: string; digest: string }[] = [];
let warmDigest = '';
for (let round = 0; round < runs; round++) {
  // Cold, no lock: an empty HERD_HOME; the first round's becomes the warm one.
  await rm(join(unlockedSpec, 'herd.lock'), { force: true });
  const coldHome = round === 0 ? warmHome : join(work, `home-cold-${round}`);
  const unlocked = herdBuild(unlockedSpec, coldHome);
  runsOf.herdColdUnlocked.push(unlocked);
  if (round === 0) {
    digests.push({ where: coldHome, digest: unlocked.digest });
    await cp(unlockedSpec, lockedSpec, { recursive: true });
    lock = JSON.parse(await readFile(join(lockedSpec, 'herd.lock'), 'utf8')) as Lock;
    await mkdir(debDir, { recursive: true });
    for (const pkg of lock.packages) {
      const name = `${pkg.name}_${pkg.version.replace(':', '%3a')}_${pkg.architecture}.deb`;
      await copyFile(join(warmHome, 'cache/debs/sha256', pkg.sha256), join(debDir, name));
    }
  } else {
    await rm(coldHome, { recursive: true, force: true });
  }

  runsOf.mmCold.push(mmdebstrap({}));

  // Cold with the lock, in a HERD_HOME under another directory.
  const lockedHome = join(elsewhere, 'deeper', `home-${round}`);
  const locked = herdBuild(lockedSpec, lockedHome);
  runsOf.herdColdLocked.push(locked);
  if (round === 0) digests.push({ where: lockedHome, digest: locked.digest });
  await rm(lockedHome, { recursive: true, force: true });

  // Only the .debs cached.
  const debsHome = join(work, `home-debs-${round}`);
  await mkdir(join(debsHome, 'cache'), { recursive: true });
  await cp(join(warmHome, 'cache', 'debs'), join(debsHome, 'cache', 'debs'), { recursive: true });
  runsOf.herdDebs.push(herdBuild(lockedSpec, debsHome));
  await rm(debsHome, { recursive: true, force: true });
  runsOf.mmDebs.push(mmdebstrap({ debDir }));

  // Everything cached.
  const warm = herdBuild(lockedSpec, warmHome);
  runsOf.herdWarm.push(warm);
  warmDigest = warm.digest;
  runsOf.mmWarm.push(mmdebstrap({ debDir }));
  process.stdout.write(`round ${round + 1} of ${runs} done\n`);
}

// Sizes, from the warm home's image and the last mmdebstrap tarball.
const layers = await layersOf(warmHome, warmDigest);
const herdCompressed = layers.reduce((sum, layer) => sum + layer.size, 0);
const mmCompressed = await gzippedSize(mmTarball);
const herdTree = join(work, 'tree-herd');
const mmTree = join(work, 'tree-mmdebstrap');
await mkdir(herdTree);
await mkdir(mmTree);
for (const layer of layers) untar(layer.path, herdTree, { gzip: true });
untar(mmTarball, mmTree);
const herdUnpacked = await regularFiles(herdTree);
const mmUnpacked = await regularFiles(mmTree);

const seconds = (list: Run[]) => median(list.map((r) => r.seconds));
const peak = (list: Run[]) => `${(Math.max(...list.map((r) => r.peakBytes)) / 1e6).toFixed(0)} MB`;
const cpu = (list: Run[]) => `${median(list.map((r) => r.cpuSeconds)).toFixed(2)} s`;
const all = (list: Run[]) => list.map((r) => r.seconds.toFixed(2)).join(' ');
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const line = (label: string, herd: Run[], mm: Run[]) =>
  console.log(
    `${label.padEnd(44)} herd ${seconds(herd).toFixed(2).padStart(6)} s   mmdebstrap ${seconds(mm)
      .toFixed(2)
      .padStart(
        6,
      )} s   ratio ${(seconds(herd) / seconds(mm)).toFixed(2)}x   cpu herd ${cpu(herd)}, mmdebstrap ${cpu(mm)}   peak herd ${peak(herd)}, mmdebstrap ${peak(mm)}` +
      `   (herd: ${all(herd)}; mmdebstrap: ${all(mm)})`,
  );

console.log('');
console.log(
  `packages                                     ${lock?.packages.length} (${lock?.packages.map((p) => p.name).join(' ')})`,
);
console.log(`medians of ${runs} interleaved runs:`);
line('cold, no lock (resolving included)', runsOf.herdColdUnlocked, runsOf.mmCold);
line('cold, with a lock', runsOf.herdColdLocked, runsOf.mmCold);
line('.debs cached', runsOf.herdDebs, runsOf.mmDebs);
line('everything cached (mmdebstrap: .debs)', runsOf.herdWarm, runsOf.mmWarm);
console.log(
  `compressed, igzip -${gzipLevel} both                      herd ${mb(herdCompressed)} (${layers.length} layers)   mmdebstrap ${mb(mmCompressed)}   ratio ${(herdCompressed / mmCompressed).toFixed(2)}x`,
);
console.log(
  `unpacked, sum of regular files' sizes        herd ${mb(herdUnpacked.bytes)} (${herdUnpacked.files} files)   mmdebstrap ${mb(mmUnpacked.bytes)} (${mmUnpacked.files} files)   ratio ${(herdUnpacked.bytes / mmUnpacked.bytes).toFixed(2)}x`,
);
// What the encoder and level cost and save on this image: igzip (herd's) at two of its levels, and
// Node's zlib (what herd used before, there in blocks on every core; here one stream per layer, the
// layers at once) at two of its own, on the same tars; CPU of all threads and processes, and wall,
// so that a change of either is a measured one.
const tars = await Promise.all(layers.map(async (layer) => gunzipSync(await readFile(layer.path))));
const allTars = join(work, 'layers.tar');
await writeFile(allTars, Buffer.concat(tars));
const encoderCosts: string[] = [];
for (const level of [1, 3]) {
  const run = timed('sh', ['-c', `igzip -${level} --stdout --no-name "$0" | wc -c`, allTars]);
  encoderCosts.push(
    `igzip -${level} ${mb(Number(run.stdout.trim()))} in ${run.cpuSeconds.toFixed(2)} s CPU, ${run.seconds.toFixed(2)} s wall`,
  );
}
for (const level of [3, 6]) {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  let size = 0;
  for (const gz of await Promise.all(tars.map((tar) => promisify(gzip)(tar, { level })))) size += gz.length;
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  encoderCosts.push(
    `zlib -${level} ${mb(size)} in ${((used.user + used.system) / 1e6).toFixed(2)} s CPU, ${wall.toFixed(2)} s wall`,
  );
}
console.log(`herd's layers by encoder (igzip -${gzipLevel} is used)   ${encoderCosts.join('; ')}`);
const reproducible = digests.length === 2 && digests[0]?.digest === digests[1]?.digest;
console.log(
  `two cold builds, fresh HERD_HOMEs elsewhere  ${reproducible ? 'same digest' : 'DIFFERENT digests'}: ${digests
    .map((d) => `${d.digest} (${d.where})`)
    .join(', ')}`,
);
await rm(work, { recursive: true, force: true });
await rm(elsewhere, { recursive: true, force: true });
process.exitCode = reproducible ? 0 : 1;
