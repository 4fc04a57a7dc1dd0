/**
 * bench/resolve: `herd lock` (fetch and verify each suite's InRelease, fetch, decompress and parse
 * its Packages indexes, resolve) against `apt-get update` on the same sources, interleaved in one
 * run. Each tool runs as the process a user starts, timed from spawn to exit, with its peak memory
 * from /usr/bin/time -v:
 *   - cold: herd in an empty HERD_HOME, apt with an empty lists and cache directory;
 *   - warm: herd's HERD_HOME and apt's lists from an earlier run. herd fetches and verifies each
 *     InRelease again and, none having changed, takes its sealed resolution (no Packages index
 *     read); apt asks for each InRelease with If-Modified-Since.
 *   - warm, indexes only: the same HERD_HOME without its resolutions, so herd reads each Packages
 *     index from its cache (hashed again), parses it and resolves: what a changed InRelease costs
 *     for the suites that did not change. apt as in the warm line.
 * apt runs as configured on this host (Acquire::Languages, GzipIndexes…), with only these sources
 * and its own directories, so it never touches the host's lists. `herd --version` is timed too:
 * herd's start-up is inside each of its times. herd is the compiled CLI (scripts/build.ts into
 * dist/bench-resolve), as `bin` runs it, not tsx.
 *
 *   npm run bench:resolve [-- --runs 5] [-- --spec examples/hello]
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sourcesForSpec } from '../src/builder/resolve-lock.js';
import type { KeyringRef } from '../src/debian/sources.js';
import { loadSpec } from '../src/specfile/load.js';
import { compiledCli } from './support/compiled-cli.js';
import { type TimedProcess, timedProcess } from './support/timed-process.js';

const root = resolve(import.meta.dirname, '..');
const argument = (name: string) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
};
const runs = Number(argument('--runs') ?? 5) || 5;
const specSource = resolve(root, argument('--spec') ?? 'examples/hello');
const work = await mkdtemp(join(tmpdir(), 'herd-bench-resolve-'));

type Run = TimedProcess;

/** Wall time from spawn to exit, and the peak RSS /usr/bin/time -v reports, run from the project root. */
const timed = (command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run =>
  timedProcess(command, args, { cwd: root, env });

// The compiled CLI, as `bin` runs it: tsx would add its own start-up to every herd time.
const herdCli = compiledCli('bench-resolve');

function herdLock(home: string): Run {
  return timed(herdCli, ['lock', specDir], { ...process.env, HERD_HOME: home });
}

function aptUpdate(dir: string): Run {
  return timed('apt-get', [
    'update',
    '-qq',
    '-o',
    `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(dir, 'cache')}`,
    '-o',
    `Dir::Etc::SourceList=${sourcesList}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    // Its own directories, so no lock is shared with the host's apt.
    '-o',
    'Debug::NoLocking=1',
  ]);
}

async function freshAptDir(name: string): Promise<string> {
  const dir = join(work, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'lists', 'partial'), { recursive: true });
  await mkdir(join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  return dir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function keyringPath(ref: KeyringRef): string {
  if (ref.kind === 'files' && ref.paths[0]) return ref.paths[0];
  throw new Error('bench/resolve needs a keyring file for each source');
}

// A private copy of the spec, so no lock is written into the repository; no lock, so herd resolves.
const specDir = join(work, 'spec');
await cp(specSource, specDir, { recursive: true });
await rm(join(specDir, 'herd.lock'), { force: true });
const sources = sourcesForSpec(await loadSpec(specDir));
const sourcesList = join(work, 'sources.list');
await writeFile(
  sourcesList,
  sources
    .map((s) => `deb [signed-by=${keyringPath(s.keyring)}] ${s.uri} ${s.suite} ${s.components.join(' ')}\n`)
    .join(''),
);

console.log(`sources: ${sources.map((s) => `${s.uri} ${s.suite} ${s.components.join(' ')}`).join('; ')}`);
console.log(
  `${runs} rounds, each: herd cold, apt cold, herd warm, apt warm, herd warm (indexes only), apt warm, herd --version`,
);

const warmHome = join(work, 'home-warm');
const warmApt = await freshAptDir('apt-warm');
herdLock(warmHome);
aptUpdate(warmApt);
const times = {
  herdCold: [] as Run[],
  aptCold: [] as Run[],
  herdWarm: [] as Run[],
  aptWarm: [] as Run[],
  herdIndexes: [] as Run[],
  aptIndexes: [] as Run[],
  version: [] as Run[],
};
for (let round = 0; round < runs; round++) {
  const coldHome = join(work, `home-cold-${round}`);
  await rm(join(specDir, 'herd.lock'), { force: true });
  times.herdCold.push(herdLock(coldHome));
  await rm(coldHome, { recursive: true, force: true });
  times.aptCold.push(aptUpdate(await freshAptDir('apt-cold')));
  await rm(join(specDir, 'herd.lock'), { force: true });
  times.herdWarm.push(herdLock(warmHome));
  times.aptWarm.push(aptUpdate(warmApt));
  await rm(join(specDir, 'herd.lock'), { force: true });
  await rm(join(warmHome, 'cache', 'resolutions'), { recursive: true, force: true });
  times.herdIndexes.push(herdLock(warmHome));
  times.aptIndexes.push(aptUpdate(warmApt));
  times.version.push(timed(herdCli, ['--version']));
  process.stdout.write('.');
}
console.log('');

const lock = JSON.parse(await readFile(join(specDir, 'herd.lock'), 'utf8')) as { packages: unknown[] };
const seconds = (list: Run[]) => median(list.map((r) => r.seconds));
const peak = (list: Run[]) => `${(Math.max(...list.map((r) => r.peakBytes)) / 1e6).toFixed(0)} MB`;
const all = (list: Run[]) => list.map((r) => r.seconds.toFixed(2)).join(' ');
const line = (label: string, herd: Run[], apt: Run[]) =>
  console.log(
    `${label.padEnd(58)} herd ${seconds(herd).toFixed(2)} s  apt-get ${seconds(apt).toFixed(2)} s  ` +
      `ratio ${(seconds(herd) / seconds(apt)).toFixed(2)}x  peak herd ${peak(herd)}, apt-get ${peak(apt)}` +
      `   (herd: ${all(herd)}; apt-get: ${all(apt)})`,
  );
console.log(
  `herd lock resolved ${lock.packages.length} packages; medians of ${runs}, wall time of each process`,
);
line('cold: empty HERD_HOME / empty lists and cache', times.herdCold, times.aptCold);
line('warm: resolution and indexes cached / lists kept (IMS)', times.herdWarm, times.aptWarm);
line('warm: indexes cached, resolved again / lists kept (IMS)', times.herdIndexes, times.aptIndexes);
console.log(
  `${'herd --version (start-up, inside every herd time above)'.padEnd(58)} ${seconds(times.version).toFixed(2)} s`,
);
await rm(work, { recursive: true, force: true });
