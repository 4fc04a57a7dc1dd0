/**
 * bench/gate: the whole gate of examples/hello as a user runs it, next to the vulnerability
 * matching alone.
 *
 * 1. The data: a data set in the security tracker's JSON shape, generated with a fixed seed (at
 *    least 40,000 CVE entries across 10,000 source packages, four suites each, every status and
 *    urgency), loaded with `updateVulnDb` into a temporary HERD_HOME.
 * 2. Vulnerability matching alone: `loadVulnDb` plus `matchVulnerabilities` for an image of 100+
 *    packages whose sources are in the data set.
 * 3. The whole gate of hello, in that HERD_HOME (the same data loaded), in two phases:
 *    - cold rounds: before each measured gate, what a gate caches is emptied (the flattened layers,
 *      HERD_HOME/cache/flattened, and the validated specs, HERD_HOME/cache/specs), then `sync`,
 *      unmeasured, so no run pays for the previous one's cache writes (about 100 MB) being flushed.
 *      The OS page cache (the store's blobs) is not dropped: it is the first gate of an image just
 *      built, not the first gate after a reboot;
 *    - warm rounds: one unmeasured gate fills both caches, `sync` once, then every measured gate
 *      finds them filled, as a user's second `herd gate` does.
 *    In every round, interleaved:
 *    - as a process: `herd gate hello:0.1.0 --spec <hello>` spawned, under `/usr/bin/time -v` for
 *      its peak memory, through tsx (`node --import tsx src/cli/main.ts`, which never caches the
 *      spec: it has no build id) and, when `npm run build` has made it, the compiled
 *      `dist/cli/main.js`; `node -e 0` is timed in the same rounds as the floor a Node process
 *      starts from;
 *    - in-process: what `herd gate` runs after its start-up and spec loading (`loadVulnDb`,
 *      `gateImage` through the flattened-layer cache, `storeVerdict`), timed in this process.
 *    Each line gives the median, the spread (min–max) and the peak RSS; the load average is
 *    printed at the start and the end.
 *
 *   npm run bench:gate -- [--runs 7] [--hello-home <HERD_HOME> --hello-spec <dir>] [--keep]
 *
 * (`npm run bench:gate` runs `npm run build` first, so the compiled herd timed is the sources'.)
 *
 * Without `--hello-home`, hello is built first (`herd build --no-gate` into the temporary home,
 * from the host's apt sources, a minute or two); with it, that home's store (where hello:0.1.0 was
 * built from the spec folder `--hello-spec`, whose herd.lock is read) is copied in. An image built
 * with --no-gate waits unnamed in quarantine: the bench names it hello:0.1.0 in its own copy, so
 * every round gates the same named image. `--keep` leaves the temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { gateImage, gateLayerCache, storeVerdict } from '../src/gate/index.js';
import { loadVulnDb, matchVulnerabilities, updateVulnDb } from '../src/gate/vulns/index.js';
import type { InstalledPackage } from '../src/gate/vulns/types.js';
import { herdHome } from '../src/herd-home.js';
import { type Digest, LayoutStore, OciError, quarantineOf } from '../src/oci/index.js';
import { loadSpec } from '../src/specfile/load.js';
import { nodeArgsOf } from './support/compiled-cli.js';

const root = resolve(import.meta.dirname, '..');
const optionOf = (name: string) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const runs = Number(optionOf('--runs') || 7) || 7;
/** The 1, 5 and 15 minute load averages, as uptime prints them. */
const loadAverage = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const loadAtStart = loadAverage();
/** Issue 15's goals for the whole gate of hello; the matching alone keeps its own. */
const goals = { loadSeconds: 5, matchMs: 300, warmProcessMs: 300, coldProcessMs: 1000, peakMb: 150 };
const sourceCount = 10_000;
const suites = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
const suffixOf: Record<(typeof suites)[number], string> = {
  bullseye: '+deb11u',
  bookworm: '+deb12u',
  trixie: '+deb13u',
  sid: '',
};

/** mulberry32: small, fast and the same on every machine. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seededRandom(0x6a7e);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const words =
  'buffer overflow heap use after free integer crafted remote attacker denial of service via a malformed request in the parser allows code execution memory disclosure certificate validation bypass'.split(
    ' ',
  );

function sentence(): string {
  const length = 15 + Math.floor(random() * 35);
  return Array.from({ length }, () => pick(words)).join(' ');
}

/** The suite's base version of each source, e.g. `3.0.11-1`. */
function baseVersion(index: number): string {
  return `${1 + (index % 7)}.${index % 13}.${index % 5}-${1 + (index % 3)}`;
}

function suiteEntry(base: string, suite: (typeof suites)[number]): Record<string, unknown> {
  const repositories: Record<string, string> = { [suite]: base };
  const roll = random();
  const urgency = pick([
    'unimportant',
    'low',
    'low*',
    'medium',
    'medium*',
    'high',
    'high*',
    'not yet assigned',
  ]);
  if (roll < 0.5) {
    const fixed = suite === 'sid' ? `${base}.1` : `${base}${suffixOf[suite]}${1 + Math.floor(random() * 4)}`;
    repositories[`${suite}-security`] = fixed;
    return { status: 'resolved', repositories, fixed_version: fixed, urgency };
  }
  if (roll < 0.6) return { status: 'resolved', repositories, fixed_version: '0', urgency };
  if (roll < 0.66) return { status: 'undetermined', repositories, urgency: 'not yet assigned' };
  if (roll < 0.76) {
    return {
      status: 'open',
      repositories,
      urgency,
      nodsa: 'Minor issue',
      nodsa_reason: pick(['', 'ignored', 'postponed']),
    };
  }
  if (roll < 0.78) return { status: 'open', repositories, urgency: 'end-of-life' };
  return { status: 'open', repositories, urgency };
}

/** Writes the document in pieces, as the tracker's export is one object keyed by source package. */
function generateTrackerJson(): { json: string; entries: number; sources: string[] } {
  const parts: string[] = ['{'];
  const sources: string[] = [];
  let entries = 0;
  let cve = 0;
  for (let s = 0; s < sourceCount; s++) {
    const source = `src${s.toString().padStart(5, '0')}`;
    sources.push(source);
    // Most sources have a few CVEs, a few have hundreds (as linux, chromium and imagemagick do).
    const count = random() < 0.01 ? 100 + Math.floor(random() * 300) : 1 + Math.floor(random() * 5);
    const issues: Record<string, unknown> = {};
    for (let c = 0; c < count; c++) {
      cve++;
      const entry: Record<string, unknown> = {};
      for (const suite of suites) entry[suite] = suiteEntry(baseVersion(s), suite);
      issues[`CVE-${2015 + (cve % 10)}-${10000 + cve}`] = {
        description: sentence(),
        scope: pick(['local', 'remote']),
        debianbug: 1000000 + cve,
        // The tracker keys its per-suite entries "releases".
        releases: entry,
      };
      entries++;
    }
    parts.push(`${s === 0 ? '' : ', '}${JSON.stringify(source)}: ${JSON.stringify(issues)}`);
  }
  parts.push('}');
  return { json: parts.join(''), entries, sources };
}

/** 130 binaries from 90 sources of the data set, at the suite's base version. */
function syntheticImage(sources: string[]): InstalledPackage[] {
  const packages: InstalledPackage[] = [];
  for (let i = 0; i < 90; i++) {
    const index = (i * 97 + 13) % sources.length;
    const source = sources[index]!;
    const version = baseVersion(index);
    packages.push({ name: `lib${source}`, version, source, sourceVersion: version });
    if (i % 2 === 0) packages.push({ name: `${source}-bin`, version, source, sourceVersion: version });
  }
  return packages;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** `min–max` of the values, the spread a median hides. */
function spread(values: number[]): string {
  return `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;
}

/** Flushes dirty pages (a cache just emptied or written), so the next timed run does not pay for it. */
function flushToDisk(): void {
  const result = spawnSync('sync');
  if (result.status !== 0) throw new Error(`sync exited ${result.status}: ${result.stderr}`);
}

function millis(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface ProcessRun {
  ms: number;
  peakMb: number;
}

/** One spawned command under /usr/bin/time -v: its wall time and peak RSS. */
function timed(command: string[], env: NodeJS.ProcessEnv): ProcessRun {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-v', ...command], { cwd: root, env, encoding: 'utf8' });
  const ms = millis(started);
  // herd gate exits 1 for a failed gate: a verdict, still a whole gate.
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`${command.join(' ')} exited ${result.status}:\n${result.stderr}`);
  }
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1] ?? Number.NaN);
  return { ms, peakMb: kb / 1024 };
}

/** The image named `name`, or the one built for it and waiting in quarantine, named here. */
async function namedImage(store: LayoutStore, name: string): Promise<Digest> {
  try {
    return await store.resolve(name);
  } catch (error) {
    if (!(error instanceof OciError && error.code === 'REF_NOT_FOUND')) throw error;
  }
  const waiting = (await store.readIndex()).manifests.find((m) => quarantineOf(m)?.intendedName === name);
  if (!waiting) throw new Error(`no image named ${name} in the bench's store, nor one built for that name`);
  await store.nameImage(waiting.digest, name);
  return waiting.digest;
}

function herdBuild(specDir: string, home: string): void {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'build', specDir, '--no-gate'],
    { cwd: root, env: { ...process.env, HERD_HOME: home }, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`herd build ${specDir} failed:\n${result.stderr}`);
}

const work = await mkdtemp(join(tmpdir(), 'herd-bench-gate-'));
try {
  const generated = generateTrackerJson();
  const input = join(work, 'tracker.json.gz');
  await writeFile(input, gzipSync(generated.json));
  const gzBytes = (await stat(input)).size;
  console.log(
    `data set: ${generated.entries} CVE entries across ${generated.sources.length} source packages, ` +
      `${suites.length} suites each; ${(generated.json.length / 1e6).toFixed(1)} MB JSON, ` +
      `${(gzBytes / 1e6).toFixed(1)} MB gzipped`,
  );

  const home = herdHome({ HERD_HOME: join(work, 'home') });
  const loadTimes: number[] = [];
  let meta: Awaited<ReturnType<typeof updateVulnDb>>['meta'] | undefined;
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint();
    meta = (await updateVulnDb(home, { from: input, now: new Date() })).meta;
    loadTimes.push(millis(started));
  }
  const cacheBytes = (await stat(join(home.root, 'vulndb', 'vulndb.ndjson'))).size;
  console.log(
    `cache: ${meta?.records} records, ${meta?.vulnerabilities} CVEs, ${meta?.sourcePackages} source packages ` +
      `(skipped: ${JSON.stringify(meta?.skipped)}); ${(cacheBytes / 1e6).toFixed(1)} MB`,
  );

  const image = syntheticImage(generated.sources);
  const readTimes: number[] = [];
  const coldTimes: number[] = [];
  const warmTimes: number[] = [];
  let findings = 0;
  const byStatus: Record<string, number> = {};
  for (let i = 0; i < runs; i++) {
    let started = process.hrtime.bigint();
    const db = await loadVulnDb(home);
    readTimes.push(millis(started));
    started = process.hrtime.bigint();
    const result = matchVulnerabilities(image, db, { suite: 'bookworm' });
    coldTimes.push(millis(started));
    started = process.hrtime.bigint();
    matchVulnerabilities(image, db, { suite: 'bookworm' });
    warmTimes.push(millis(started));
    findings = result.length;
    if (i === 0) for (const finding of result) byStatus[finding.status] = (byStatus[finding.status] ?? 0) + 1;
  }
  const sourcesInImage = new Set(image.map((p) => p.source)).size;
  console.log(`image: ${image.length} packages from ${sourcesInImage} source packages, suite bookworm`);
  console.log(`findings per image: ${findings} ${JSON.stringify(byStatus)}`);

  // The whole gate of hello, in the same HERD_HOME (so it loads the same vulnerability data).
  const helloHome = optionOf('--hello-home');
  let specDir = optionOf('--hello-spec');
  if (helloHome) {
    if (!specDir)
      throw new Error('--hello-home needs --hello-spec: the folder hello was built from (its herd.lock)');
    await cp(join(resolve(helloHome), 'store'), home.store, { recursive: true });
  } else {
    specDir = join(work, 'hello');
    await cp(join(root, 'examples/hello'), specDir, { recursive: true });
    await rm(join(specDir, 'herd.lock'), { force: true });
    console.log('building examples/hello (herd build --no-gate) into the bench home…');
    herdBuild(specDir, home.root);
  }
  specDir = resolve(specDir);
  const store = new LayoutStore(home.store);
  const digest: Digest = await namedImage(store, 'hello:0.1.0');
  const spec = (await loadSpec(specDir)).spec;
  const lockFile = await readFile(join(specDir, 'herd.lock'));
  // Everything a gate keeps for the next one: the flattened layers and the validated specs.
  const emptyCache = async () => {
    await rm(home.flattenedLayerCache, { recursive: true, force: true });
    await rm(join(home.root, 'cache', 'specs'), { recursive: true, force: true });
  };

  const inProcess = async (): Promise<number> => {
    const started = process.hrtime.bigint();
    const vulndb = await loadVulnDb(home);
    const verdict = await gateImage(store, digest, {
      now: new Date(),
      spec,
      gate: spec.gate,
      suite: spec.image.suite,
      lockFile,
      vulndb,
      layerCache: gateLayerCache(home),
    });
    await storeVerdict(store, digest, verdict);
    return millis(started);
  };

  const env = { ...process.env, HERD_HOME: home.root };
  const gateArgs = ['gate', 'hello:0.1.0', '--spec', specDir, '-o', join(work, 'verdict.txt')];
  const dist = join(root, 'dist/cli/main.js');
  const entries: { label: string; command: string[] }[] = [
    {
      label: 'tsx (src/cli/main.ts)',
      command: [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), ...gateArgs],
    },
    ...(existsSync(dist)
      ? [
          {
            label: 'compiled (dist/cli/main.js)',
            command: [process.execPath, ...nodeArgsOf(dist), ...gateArgs],
          },
        ]
      : []),
  ];
  const floorCommand = [process.execPath, '-e', '0'];
  const floor = { cold: [] as ProcessRun[], warm: [] as ProcessRun[] };
  const processRuns = new Map<string, { cold: ProcessRun[]; warm: ProcessRun[] }>(
    entries.map(({ label }) => [label, { cold: [], warm: [] }]),
  );
  const inProcessRuns = { cold: [] as number[], warm: [] as number[] };
  const loadBeforeGates = loadAverage();
  // Cold rounds: every measured gate starts with both caches empty and nothing left to flush.
  for (let i = 0; i < runs; i++) {
    await emptyCache();
    flushToDisk();
    floor.cold.push(timed(floorCommand, env));
    for (const { label, command } of entries) {
      await emptyCache();
      flushToDisk();
      processRuns.get(label)!.cold.push(timed(command, env));
    }
    await emptyCache();
    flushToDisk();
    inProcessRuns.cold.push(await inProcess());
  }
  // Warm rounds: one unmeasured gate fills the caches (the compiled herd's, when there is one,
  // fills the validated specs too; under tsx there are none), its writes are flushed once, and
  // every measured gate after it finds them filled.
  await emptyCache();
  timed(entries.at(-1)!.command, env);
  flushToDisk();
  for (let i = 0; i < runs; i++) {
    floor.warm.push(timed(floorCommand, env));
    for (const { label, command } of entries) processRuns.get(label)!.warm.push(timed(command, env));
    inProcessRuns.warm.push(await inProcess());
  }
  const loadAfterGates = loadAverage();

  const load = median(loadTimes);
  const match = median(readTimes) + median(coldTimes);
  const ms = (value: number) => `${value.toFixed(0).padStart(6)} ms`;
  const mb = (value: number) => `${value.toFixed(0).padStart(4)} MB`;
  /** The median, the spread and the peak RSS of spawned runs, as one line's figures. */
  const processFigures = (list: ProcessRun[]) => {
    const times = list.map((r) => r.ms);
    const peaks = list.map((r) => r.peakMb);
    return {
      wall: median(times),
      peak: Math.max(...peaks),
      text: `${ms(median(times))} (${spread(times).padStart(9)})  peak ${mb(median(peaks))} median, ${mb(Math.max(...peaks))} max`,
    };
  };
  /** One line of the whole gate's table: its label, then its figures, in one column. */
  const row = (label: string, figures: string) => console.log(`    ${label.padEnd(44)} ${figures}`);
  console.log('');
  console.log(`load (updateVulnDb, gzip file → cache), median of 3:   ${(load / 1000).toFixed(2)} s`);
  console.log(`  loadVulnDb (read + verify + index the cache), median: ${median(readTimes).toFixed(1)} ms`);
  console.log(`  matchVulnerabilities, first run on a fresh load:      ${median(coldTimes).toFixed(1)} ms`);
  console.log(`  matchVulnerabilities, warm (db already parsed):       ${median(warmTimes).toFixed(2)} ms`);
  console.log(`vulnerability matching alone (loadVulnDb + first match): ${match.toFixed(1)} ms per image`);
  console.log('');
  console.log(
    `the whole gate of hello (${digest.slice(0, 19)}…), ${runs} rounds of each phase, interleaved; ` +
      'median (min–max), peak RSS from /usr/bin/time -v:',
  );
  const phases = {
    cold: 'cold: flattened layers and validated specs emptied, then sync, before each run',
    warm: 'warm: both caches filled by one unmeasured gate, sync once, then every run',
  } as const;
  const verdicts: { label: string; pass: boolean }[] = [];
  for (const state of ['cold', 'warm'] as const) {
    console.log(`  ${phases[state]}`);
    const floorFigures = processFigures(floor[state]);
    row('node -e 0 (the floor of any Node process)', floorFigures.text);
    for (const [label, runsOf] of processRuns) {
      const figures = processFigures(runsOf[state]);
      // Under tsx there is no build id, so no spec is ever cached: say so where it is "warm".
      const cached =
        state === 'warm' && label.startsWith('tsx') ? ' (layers cached; specs never, no build id)' : '';
      row(
        `herd gate, ${label}`,
        `${figures.text}  ${(figures.wall / floorFigures.wall).toFixed(1)}× node -e 0${cached}`,
      );
      const goal = state === 'warm' ? goals.warmProcessMs : goals.coldProcessMs;
      verdicts.push({ label: `${label}, ${state}: ≤ ${goal} ms`, pass: figures.wall <= goal });
      verdicts.push({
        label: `${label}, ${state}: peak ≤ ${goals.peakMb} MB`,
        pass: figures.peak <= goals.peakMb,
      });
    }
    const inProcessTimes = inProcessRuns[state];
    row(
      'in-process, after start-up and spec loading',
      `${ms(median(inProcessTimes))} (${spread(inProcessTimes).padStart(9)})`,
    );
  }
  console.log(
    '  in-process: loadVulnDb + gateImage (through the flattened-layer cache) + storeVerdict, in this process',
  );
  row('vulnerability matching alone', `${ms(match)} (loadVulnDb + first match, the synthetic image above)`);
  console.log('');
  console.log(
    `load average (1, 5, 15 min): ${loadAtStart} at the start, ${loadBeforeGates} before the gates, ${loadAfterGates} after them (${availableParallelism()} cores)`,
  );
  console.log('');
  const loadPass = load / 1000 < goals.loadSeconds;
  const matchPass = match < goals.matchMs;
  console.log(`load < ${goals.loadSeconds} s: ${loadPass ? 'PASS' : 'FAIL'}`);
  console.log(`vulnerability matching < ${goals.matchMs} ms: ${matchPass ? 'PASS' : 'FAIL'}`);
  for (const { label, pass } of verdicts) console.log(`whole gate, ${label}: ${pass ? 'PASS' : 'FAIL'}`);
  if (!loadPass || !matchPass || verdicts.some((v) => !v.pass)) process.exitCode = 1;
} finally {
  if (process.argv.includes('--keep')) console.log(`kept: ${work}`);
  else await rm(work, { recursive: true, force: true });
}
