/**
 * bench/remediate: time-to-remediate, from a security fix's publication in a signed apt repository
 * to the last instance running it, with nobody at the keyboard. `herd up` runs the probe service
 * (test/support/remediation-fleet.ts: the statically built probe-server from a signed repository
 * served over HTTP on 127.0.0.1) as a fleet of 4, with the update monitor every 30 s, acceptance
 * checks, and `policy: { trigger: security, urgency: high, promote: auto }`. Three rounds: the
 * tracker data learns of CVE-2026-000N (high, fixed in 1.N), then the repository publishes
 * probe-server 1.N (a new InRelease, same key, Date = now), N = 1, 2, 3.
 *
 * Timed per round:
 * - outside: from the new InRelease's Date (its publication, in whole seconds) until the fleet API,
 *   polled every 250 ms, first shows the fleet complete with every instance on a new revision;
 * - the run's own time-to-remediate (from the version's first-visible time, that same Date, to the
 *   last instance replaced), its detection delay (publication → run created; up to the 30 s
 *   interval) and each stage's duration.
 * The peer, after the rounds: the same kind of change made by hand through the CLI, timed step by
 * step (publish probe-server 1.4 with no CVE, which the security-only policy leaves alone; then
 * `herd lock`, `herd build` (with its gate), `herd sign`, `herd release` at accepted and
 * production, `herd rollout`, until the fleet is complete on it). It has no acceptance candidate
 * and no monitor interval to wait for.
 * Cached in both: the .deb cache (base-files; each probe-server version is new), the unpacked
 * package and layer caches, the signing key (unlocked from HERD_KEY_PASSWORD or its password file),
 * and the engine's own image store (each new image is still loaded into it). Not cached: the
 * repository's InRelease and Packages index (fetched at each look), each new .deb.
 *
 * A light load (20 req/s, --rate) runs on the front door through the rounds; its failures are
 * printed. Goal: median outside time ≤ 2 min. Exit 1 when it is missed, a round's run did not
 * succeed, or a request failed.
 *
 *   npm run bench:remediate [-- --rounds 3 --interval 30s --rate 20]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../src/oci/types.js';
import type { PipelineRun } from '../src/pipeline/index.js';
import { unwrap } from '../src/server/api-client.js';
import {
  baseFilesPackage,
  type Publication,
  probeServerPackage,
  publishedRepo,
} from '../test/support/apt-publish.js';
import { freshHome, writeSpecDir } from '../test/support/build-harness.js';
import { runHerdAsync } from '../test/support/cli.js';
import { localApi } from '../test/support/control-plane-api.js';
import { startHerd, stopHerd } from '../test/support/herd-process.js';
import { probeSecurityFixes, remediationSpecText } from '../test/support/remediation-fleet.js';
import { writeTrackerJson } from '../test/support/tracker-json.js';
import { runLoad } from './load.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
};
const rounds = Number(option('rounds', '3'));
const interval = option('interval', '30s');
const rate = Number(option('rate', '20'));
const size = 4;
const service = 'probe';
const goalMs = 120_000;
/** A round that takes longer than this is a failure, not a slow figure. */
const roundTimeoutMs = 600_000;

interface RoundFigures {
  version: string;
  outsideMs: number;
  run: PipelineRun;
}

const repo = await publishedRepo([baseFilesPackage, await probeServerPackage('1.0')]);
// Short: podman refuses a run root (HERD_HOME/engine/run) longer than 50 characters.
const home = await freshHome('hbr-');
const dir = await writeSpecDir({
  'herd.yaml': remediationSpecText(repo, { service, size, updatesInterval: interval }),
});
let keyPassword = '';
const herd = async (args: string[]) => {
  const result = await runHerdAsync(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
  if (result.status !== 0) throw new Error(`herd ${args.join(' ')} exited ${result.status}:\n${result.err}`);
  return result.out;
};
const api = localApi(home);
const fleet = () => unwrap(api.fleets[':service'].$get({ param: { service } }));
const runs = async () => JSON.parse(await herd(['pipeline', 'ls', '--json'])) as PipelineRun[];

/** Polls the fleet API until the fleet is complete with every instance off `revision`; when it was seen. */
async function replacedAt(revision: string, since: number): Promise<{ at: number; digest: Digest }> {
  for (;;) {
    const status = await fleet();
    const at = Date.now();
    if (
      status.revision !== revision &&
      status.status === 'complete' &&
      status.instances.length === size &&
      status.instances.every((instance) => instance.revision === status.revision && instance.ready)
    ) {
      return { at, digest: status.digest };
    }
    if (at - since > roundTimeoutMs) {
      throw new Error(`the fleet was not replaced in ${roundTimeoutMs / 1000} s: ${JSON.stringify(status)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

console.log(
  `bench/remediate: HERD_HOME ${home}; herd up (${size} instances of ${service}, updates every ${interval})`,
);
const up = startHerd(['up', dir], home, { HERD_LOG_LEVEL: 'warn' });
const figures: RoundFigures[] = [];
let failedRequests = 0;
try {
  const door = (await up.waitFor(/front door {2}(http:\/\/\S+?)\/?\n/, 600_000))[1]!;
  keyPassword = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
  const stopLoad = new AbortController();
  const load = runLoad({ url: `${door}/`, rate, durationMs: 3_600_000, signal: stopLoad.signal });
  try {
    for (let minor = 1; minor <= rounds; minor++) {
      const before = await fleet();
      const known = new Set((await runs()).map((run) => run.id));
      const data = await writeTrackerJson(probeSecurityFixes(minor));
      await herd(['vulndb', 'update', '--from', data]);
      const publication = await repo.publish([await probeServerPackage(`1.${minor}`)]);
      const replaced = await replacedAt(before.revision, publication.date.getTime());
      const run = (await runs()).find((one) => !known.has(one.id) && one.digest === replaced.digest);
      if (!run) throw new Error(`the fleet runs ${replaced.digest}, which no new run built`);
      const round = { version: `1.${minor}`, outsideMs: replaced.at - publication.date.getTime(), run };
      figures.push(round);
      printRound(round, publication);
    }
  } finally {
    stopLoad.abort();
    const result = await load;
    failedRequests = result.failed;
    console.log(
      `\nfront door: ${result.sent} requests at ${result.rate.toFixed(0)}/s, ${result.failed} failed` +
        (result.failed > 0 ? ` (${JSON.stringify(result.failures)})` : ''),
    );
  }
  const peer = await byHand();
  printSummary(figures, peer);
  const median = medianOf(figures.map((round) => round.outsideMs));
  const allSucceeded = figures.every((round) => round.run.status === 'succeeded');
  process.exitCode = median <= goalMs && allSucceeded && failedRequests === 0 ? 0 : 1;
} finally {
  await stopHerd(up);
  await repo.close();
}

/**
 * The peer: probe-server 1.4 published with no CVE (so the security-only policy starts no run),
 * then the CLI steps `herd up` and the loop take, each timed.
 */
async function byHand(): Promise<{ steps: [string, number][]; totalMs: number; runsMeanwhile: number }> {
  const before = await fleet();
  const known = new Set((await runs()).map((run) => run.id));
  const publication = await repo.publish([await probeServerPackage('1.4')]);
  const steps: [string, number][] = [];
  const started = Date.now();
  const step = async <T>(name: string, action: () => Promise<T>): Promise<T> => {
    const began = Date.now();
    const value = await action();
    steps.push([name, Date.now() - began]);
    return value;
  };
  await step('herd lock', () => herd(['lock', dir]));
  const built = await step('herd build (and gate)', async () =>
    JSON.parse(await herd(['build', dir, '--json'])),
  );
  const digest = (built as { digest: Digest }).digest;
  await step('herd sign', () => herd(['sign', digest]));
  await step('herd release (accepted, production)', async () => {
    await herd(['release', service, digest, '--stage', 'accepted']);
    await herd(['release', service, digest, '--stage', 'production']);
  });
  await step('herd rollout, until complete', async () => {
    await herd(['rollout', service, digest, '--spec', dir]);
    const replaced = await replacedAt(before.revision, Date.now());
    if (replaced.digest !== digest) throw new Error(`the fleet runs ${replaced.digest}, not ${digest}`);
  });
  const totalMs = Date.now() - started;
  const runsMeanwhile = (await runs()).filter((run) => !known.has(run.id)).length;
  console.log(`\npeer: probe-server 1.4 published ${publication.date.toISOString()}, rolled out by hand`);
  return { steps, totalMs, runsMeanwhile };
}

function printRound(round: RoundFigures, publication: Publication): void {
  const { run } = round;
  const detectMs = Date.parse(run.createdAt) - publication.date.getTime();
  const stages = run.stages
    .filter((stage) => stage.durationMs !== undefined)
    .map((stage) => `${stage.stage} ${seconds(stage.durationMs!)}`)
    .join(', ');
  console.log(
    `probe-server ${round.version}: outside ${seconds(round.outsideMs)}, run ${run.id} ${run.status}, ` +
      `time-to-remediate ${run.timeToRemediateMs === undefined ? 'not set' : seconds(run.timeToRemediateMs)}, ` +
      `published → run created ${seconds(detectMs)} (snapshot served ${seconds(publication.servedAt.getTime() - publication.date.getTime())} after its Date)`,
  );
  console.log(`  stages: ${stages}`);
}

function printSummary(
  rounds: readonly RoundFigures[],
  peer: { steps: [string, number][]; totalMs: number; runsMeanwhile: number },
): void {
  const outside = rounds.map((round) => round.outsideMs);
  const inside = rounds.flatMap((round) =>
    round.run.timeToRemediateMs === undefined ? [] : [round.run.timeToRemediateMs],
  );
  console.log('');
  for (const [name, ms] of peer.steps) console.log(`  ${name.padEnd(40)} ${seconds(ms)}`);
  console.log(`  ${'by hand, total'.padEnd(40)} ${seconds(peer.totalMs)}`);
  if (peer.runsMeanwhile > 0)
    console.log(`  (the loop started ${peer.runsMeanwhile} run(s) meanwhile: the peer is not clean)`);
  console.log('');
  console.log(`time-to-remediate, ${size} instances, updates every ${interval}, ${rounds.length} rounds:`);
  console.log(
    `  outside (publication → every instance on the fix): median ${seconds(medianOf(outside))}, each ${outside.map(seconds).join(', ')}`,
  );
  if (inside.length > 0) {
    console.log(
      `  the runs' own figure: median ${seconds(medianOf(inside))}, each ${inside.map(seconds).join(', ')}`,
    );
  }
  console.log(`  by hand through the CLI (no monitor wait, no acceptance): ${seconds(peer.totalMs)}`);
  console.log(`  goal: median ≤ ${seconds(goalMs)} — ${medianOf(outside) <= goalMs ? 'met' : 'MISSED'}`);
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
