/**
 * bench/gate: vulnerability loading and matching against a tracker-sized data set.
 *
 * Generates, with a fixed seed, a data set in the security tracker's JSON shape (at least 40,000 CVE
 * entries across 10,000 source packages, four suites each, every status and urgency), writes it
 * gzipped to a temp file, then times:
 *   - load:  `updateVulnDb` from that file (gunzip, stream-parse, map, write the cache);
 *   - gate:  `loadVulnDb` plus `matchVulnerabilities` for an image of 100+ packages whose sources
 *            are in the data set: what one `herd gate` run pays for vulnerabilities.
 * The rest of the gate (hardening rules, secret scan) is timed elsewhere and adds to the gate time.
 *
 *   node --import tsx bench/gate.ts [--runs 15] [--keep]
 *
 * `--keep` leaves the generated data set and cache in the temp directory it prints.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadVulnDb, matchVulnerabilities, updateVulnDb } from '../src/gate/vulns/index.js';
import type { InstalledPackage } from '../src/gate/vulns/types.js';
import { herdHome } from '../src/herd-home.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 15) || 15;
const goals = { loadSeconds: 5, gateMs: 300 };
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

function millis(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
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

  const load = median(loadTimes);
  const gate = median(readTimes) + median(coldTimes);
  console.log('');
  console.log(`load (updateVulnDb, gzip file → cache), median of 3:   ${(load / 1000).toFixed(2)} s`);
  console.log(`  loadVulnDb (read + verify + index the cache), median: ${median(readTimes).toFixed(1)} ms`);
  console.log(`  matchVulnerabilities, first run on a fresh load:      ${median(coldTimes).toFixed(1)} ms`);
  console.log(`  matchVulnerabilities, warm (db already parsed):       ${median(warmTimes).toFixed(2)} ms`);
  console.log(`gate, vulnerabilities only (loadVulnDb + first match):  ${gate.toFixed(1)} ms per image`);
  console.log('');
  const loadPass = load / 1000 < goals.loadSeconds;
  const gatePass = gate < goals.gateMs;
  console.log(`load < ${goals.loadSeconds} s: ${loadPass ? 'PASS' : 'FAIL'}`);
  console.log(
    `gate < ${goals.gateMs} ms (vulnerability matching alone; rules and secrets add to it): ${gatePass ? 'PASS' : 'FAIL'}`,
  );
  if (!loadPass || !gatePass) process.exitCode = 1;
} finally {
  if (process.argv.includes('--keep')) console.log(`kept: ${work}`);
  else await rm(work, { recursive: true, force: true });
}
