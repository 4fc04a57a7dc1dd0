/**
 * Patch by replacement, end to end on the real engine: `herd up` (a child process) builds the probe
 * spec from a signed apt repository served over HTTP on 127.0.0.1, runs a fleet of 3 behind a front
 * door, and from then on nobody gives herd a command (but `herd vulndb update`, which is how the
 * tracker's news reaches it). The spec says: look for updates every 2 s, start a run for a security
 * fix of urgency high, promote on its own, and accept a candidate only when GET / answers the
 * probe's greeting. The repository then publishes new versions of probe-server, each a newer
 * InRelease signed with the same key:
 * - 1.1, which fixes CVE-2026-0001 (high): the fleet ends up on a new digest by itself, through one
 *   run whose every stage passed, under load on the front door that sees no failed request;
 * - 1.2, which fixes CVE-2026-0002 but answers GET / differently: the run stops at acceptance, the
 *   fleet stays on its release, and the new digest is never released at production;
 * - 1.3 signed by a key outside the keyring, then with the Date of an earlier publication (a
 *   replayed Release): no run starts, `herd check` says why;
 * - 1.3, which fixes CVE-2026-0003: the control plane is killed (-9) during its run, and `herd
 *   serve` on the same home ends that run consistently (succeeded, or failed as interrupted and
 *   then taken up by a fresh run), the fix reaches the fleet, no candidate is left, and it serves.
 * The tests run in order and share the fleet. What they assert, herd prints through the CLI; while
 * they wait, they ask the control plane's socket directly, as the CLI does, without a process each
 * time (a CLI start costs a second of CPU, taken from the control plane being waited for).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LoadResult, runLoad } from '../bench/load.js';
import { shortDigest } from '../src/oci/digest.js';
import type { Digest } from '../src/oci/types.js';
import type { CheckOutcome, PipelineRun, RemediationTimes, RunStage } from '../src/pipeline/index.js';
import { unwrap } from '../src/server/api-client.js';
import {
  baseFilesPackage,
  type Publication,
  type PublishedRepo,
  probeBrokenAnswer,
  probeDefaultAnswer,
  probeServerPackage,
  publishedRepo,
} from './support/apt-publish.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { type CliResult, runHerdAsync } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import { eventually, podmanOf, type RunningHerd, startHerd, stopHerdPodman } from './support/herd-process.js';
import { requireTool } from './support/podman.js';
import { probeSecurityFixes, remediationSpecText } from './support/remediation-fleet.js';
import { writeTrackerJson } from './support/tracker-json.js';

const size = 3;
const service = 'probe';

interface Status {
  revision: string;
  status: string;
  ready: number;
  frontDoor?: string;
  instances: { id: string; revision: string; state: string; ready: boolean }[];
  remediation?: RemediationTimes;
}

interface CatalogEntry {
  service: string;
  digest: string;
  stage: string;
}

interface JournalLine {
  id: number;
  at: string;
  actor: string;
  action: string;
  digest?: string;
  details: Record<string, unknown>;
}

/** The stages a run with `promote: auto` passes; `approve` is skipped or not recorded. */
const passedStages: RunStage[] = ['lock', 'build', 'gate', 'sign', 'accept', 'release', 'promote', 'rollout'];

describe('the remediation loop on podman: a fix published in a signed repository reaches the fleet unattended', () => {
  let repo: PublishedRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let keyPassword = '';
  /** The run ids each test has seen already, so it looks only at its own. */
  const seenRuns = new Set<number>();
  /** The repository's honest publications, oldest first. */
  const publications: Publication[] = [];

  const herd = async (args: string[]): Promise<CliResult> =>
    runHerdAsync(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
  const herdJson = async <T>(args: string[]): Promise<T> => {
    const result = await herd([...args, '--json']);
    assert.equal(result.status, 0, `herd ${args.join(' ')} --json exited ${result.status}:\n${result.err}`);
    try {
      return JSON.parse(result.out) as T;
    } catch {
      throw new Error(`herd ${args.join(' ')} --json printed no JSON:\n${result.out}\n${result.err}`);
    }
  };
  const status = () => herdJson<Status>(['status', service]);
  const runs = () => herdJson<PipelineRun[]>(['pipeline', 'ls']);
  const newRuns = async () => (await runs()).filter((run) => !seenRuns.has(run.id));
  /** While waiting: what `herd status` and `herd pipeline ls` would print, from the socket. */
  const polledStatus = async () =>
    (await unwrap(localApi(home).fleets[':service'].$get({ param: { service } }))) as Status;
  const polledRuns = async () => (await unwrap(localApi(home).pipeline.$get({ query: {} }))) as PipelineRun[];
  const polledNewRuns = async () => (await polledRuns()).filter((run) => !seenRuns.has(run.id));
  /** The run `id` as `herd pipeline ls` prints it, for the assertions. */
  const listedRun = async (id: number) => {
    const run = (await runs()).find((one) => one.id === id);
    assert.ok(run, `herd pipeline ls does not list run ${id}`);
    return run;
  };
  /** What a test that timed out shows: the runs, each new run's stages, and herd's last output. */
  const evidence = async () => {
    const listed = await herd(['pipeline', 'ls', '--json']).catch((error: Error) => ({
      status: -1,
      out: '',
      err: error.message,
    }));
    const shown: string[] = [];
    try {
      for (const run of JSON.parse(listed.out) as PipelineRun[]) {
        if (seenRuns.has(run.id)) continue;
        const show = await herd(['pipeline', 'show', String(run.id)]);
        shown.push(`herd pipeline show ${run.id}:\n${show.out}${show.err}`);
      }
    } catch {
      // The listing itself is shown below.
    }
    const now = await herd(['status', service]);
    return [
      `herd pipeline ls --json (exit ${listed.status}):\n${listed.out}${listed.err}`,
      ...shown,
      `herd status ${service}:\n${now.out}${now.err}`,
      `herd's last output:\n${up?.output().slice(-6000) ?? '(not running)'}`,
    ].join('\n');
  };
  const loadVulnData = async (minor: number) => {
    const file = await writeTrackerJson(probeSecurityFixes(minor));
    const update = await herd(['vulndb', 'update', '--from', file]);
    assert.equal(update.status, 0, `herd vulndb update --from ${file}:\n${update.err}`);
  };
  /** Waits until one new run has ended (succeeded or failed), or times out showing what it saw. */
  const nextEndedRun = async (what: string, timeoutMs: number): Promise<PipelineRun> => {
    let last = '';
    let ended: PipelineRun;
    try {
      ended = await eventually(
        what,
        timeoutMs,
        async () => {
          const fresh = await polledNewRuns();
          last = JSON.stringify(fresh.map(({ id, status, stage, error }) => ({ id, status, stage, error })));
          return fresh.find((run) => run.status === 'succeeded' || run.status === 'failed');
        },
        () => last,
        1000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await evidence()}`);
    }
    return listedRun(ended.id);
  };
  const journalSince = async (at: Date) =>
    (await herdJson<JournalLine[]>(['journal', '--service', service])).filter(
      (entry) => Date.parse(entry.at) >= at.getTime(),
    );
  const candidatesLeft = async () => {
    const podman = await podmanOf(home);
    return podman(['ps', '-a', '--format', '{{.Names}}', '--filter', 'label=dev.herd.acceptance'])
      .trim()
      .split('\n')
      .filter((name) => name !== '');
  };

  before(async () => {
    requireTool('podman', 'podman');
    repo = await publishedRepo([baseFilesPackage, await probeServerPackage('1.0')]);
    publications.push(repo.current());
    home = await freshHome();
    const dir = await writeSpecDir({
      'herd.yaml': remediationSpecText(repo, { service, size, updatesInterval: '2s' }),
    });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+?)\/?\n/, 180_000))[1]!;
    keyPassword = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
    for (const run of await runs()) seenRuns.add(run.id);
  });

  after(async () => {
    const child = up?.child;
    let stuck = false;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      // A control plane that does not stop is a failure to show, not a test run that never ends.
      stuck = !(await Promise.race([
        exited.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
      ]));
      if (stuck) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    // `herd serve` (after the kill -9) leaves fleets running by design: the test cleans up itself.
    if (home) await stopHerdPodman(home);
    await repo?.close();
    assert.ok(
      !stuck,
      `herd did not stop within 30 s of SIGINT; its last output:\n${up?.output().slice(-6000)}`,
    );
  });

  it('rebuilds, accepts and rolls out probe-server 1.1 (CVE-2026-0001, high) with no command given and no failed request', async () => {
    const before = await status();
    assert.equal(before.ready, size, `the fleet is not ready before the fix: ${JSON.stringify(before)}`);
    assert.equal(await (await fetch(`${frontDoor}/`)).text(), probeDefaultAnswer);
    const stopLoad = new AbortController();
    const load = runLoad({ url: `${frontDoor}/`, rate: 20, durationMs: 600_000, signal: stopLoad.signal });
    let loaded: LoadResult;
    let run: PipelineRun;
    let fix: Publication;
    let after: Status;
    try {
      await loadVulnData(1);
      fix = await repo.publish([await probeServerPackage('1.1')]);

      run = await nextEndedRun('a run for probe-server 1.1 to end', 150_000);
      after = await status();
    } finally {
      stopLoad.abort();
      loaded = await load;
    }
    seenRuns.add(run.id);
    const shown = `run ${run.id}: ${JSON.stringify(run, null, 2)}`;

    assert.equal(run.status, 'succeeded', `${shown}\n${await evidence()}`);
    assert.equal(run.service, service);
    assert.equal(run.trigger, 'schedule');
    for (const stage of passedStages) {
      assert.equal(
        run.stages.find((one) => one.stage === stage)?.status,
        'passed',
        `stage ${stage}: ${shown}`,
      );
    }
    assert.ok(
      run.stages.every(
        (one) => one.status === 'passed' || (one.stage === 'approve' && one.status === 'skipped'),
      ),
      `a stage neither passed nor was the skipped approval: ${shown}`,
    );
    const updates = run.findings.flatMap((finding) => finding.packages);
    const probe = updates.find((update) => update.name === 'probe-server');
    assert.deepEqual(
      { from: probe?.from, to: probe?.to, cvesFixed: probe?.cvesFixed, urgency: probe?.urgency },
      { from: '1.0', to: '1.1', cvesFixed: ['CVE-2026-0001'], urgency: 'high' },
      shown,
    );
    assert.ok(
      run.findings.some((finding) => finding.cvesFixed.includes('CVE-2026-0001') && finding.security),
    );
    assert.equal(probe?.visibleAt, fix.date.toISOString(), 'first visible at the InRelease Date of 1.1');
    // From the InRelease Date to the last instance replaced: positive, and no longer than until now.
    assert.ok(run.timeToRemediateMs !== undefined && run.timeToRemediateMs > 0, shown);
    assert.ok(run.timeToRemediateMs <= Date.now() - fix.date.getTime(), shown);
    console.log(`# time-to-remediate ${(run.timeToRemediateMs / 1000).toFixed(1)} s`);
    assert.ok(run.digest && run.digest !== run.fromDigest, shown);
    assert.equal(after.revision, shortDigest(run.digest as Digest));
    assert.equal(after.instances.length, size);
    assert.ok(after.instances.every((instance) => instance.revision === after.revision));
    assert.notEqual(after.revision, before.revision);
    assert.equal(await (await fetch(`${frontDoor}/`)).text(), probeDefaultAnswer);
    assert.deepEqual(await candidatesLeft(), [], 'the acceptance candidate is removed');

    const steps = await journalSince(fix.date);
    const forDigest = (action: string) =>
      steps.filter((entry) => entry.action === action && entry.digest === run.digest);
    for (const action of ['build', 'gate', 'sign', 'release', 'rollout']) {
      assert.ok(
        forDigest(action).length > 0,
        `no ${action} of ${run.digest} in the journal:\n${JSON.stringify(steps, null, 2)}`,
      );
    }
    const stages = forDigest('release').map((entry) => entry.details.stage);
    assert.deepEqual(stages, ['accepted', 'production'], JSON.stringify(steps, null, 2));
    assert.ok(
      steps.some((entry) => entry.action === 'pipeline'),
      'the run start is journaled',
    );
    const end = steps.find((entry) => entry.action === 'pipeline-end');
    assert.ok(end, 'the run end is journaled');
    assert.equal(end.details.status, 'succeeded', JSON.stringify(end));
    assert.equal(end.details.timeToRemediateMs, run.timeToRemediateMs, JSON.stringify(end));
    // herd status shows it too, as the fleet's figures.
    assert.equal(after.remediation?.count, 1, JSON.stringify(after.remediation));
    assert.equal(after.remediation?.lastMs, run.timeToRemediateMs, JSON.stringify(after.remediation));

    console.log(`# ${loaded.sent} requests at ${loaded.rate.toFixed(0)}/s, ${loaded.failed} failed`);
    assert.deepEqual(loaded.failures, {}, `${loaded.failed} of ${loaded.sent} requests failed`);
    assert.ok(loaded.sent > 100, `only ${loaded.sent} requests were made`);
  });

  it('stops at acceptance when probe-server 1.2 answers differently, and the fleet stays on its release', async () => {
    const before = await status();
    const stopLoad = new AbortController();
    const load = runLoad({ url: `${frontDoor}/`, rate: 20, durationMs: 600_000, signal: stopLoad.signal });
    let run: PipelineRun;
    let again: PipelineRun[];
    let broken: Publication;
    let loaded: LoadResult;
    try {
      await loadVulnData(2);
      broken = await repo.publish([await probeServerPackage('1.2', { broken: true })]);

      run = await nextEndedRun('a run for probe-server 1.2 to end', 120_000);
      seenRuns.add(run.id);
      // A failed target is not tried again on the next looks (every 2 s).
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      again = await newRuns();
    } finally {
      stopLoad.abort();
      loaded = await load;
    }
    const shown = `run ${run.id}: ${JSON.stringify(run, null, 2)}`;
    const after = await status();
    const catalog = await herdJson<CatalogEntry[]>(['catalog', service]);
    const logs = await herd(['pipeline', 'logs', String(run.id)]);

    assert.equal(run.status, 'failed', shown);
    assert.equal(run.stage, 'accept', shown);
    assert.match(run.error ?? '', /accept/, shown);
    const accept = run.stages.find((one) => one.stage === 'accept');
    assert.equal(accept?.status, 'failed', shown);
    // The detail names what the check saw, or the pattern it wanted.
    assert.match(
      `${accept?.output}\n${run.error}`,
      new RegExp(`${probeBrokenAnswer}|${probeDefaultAnswer}`),
      shown,
    );
    assert.ok(
      run.stages.every(
        (one) => !['release', 'promote', 'rollout'].includes(one.stage) || one.status !== 'passed',
      ),
      shown,
    );
    assert.ok(
      run.findings.some((finding) =>
        finding.packages.some((p) => p.name === 'probe-server' && p.to === '1.2'),
      ),
      shown,
    );
    assert.deepEqual(again, [], `a failed target was tried again: ${JSON.stringify(again)}`);
    assert.equal(after.revision, before.revision, 'the fleet stays on its release');
    assert.ok(after.instances.every((instance) => instance.revision === before.revision));
    assert.equal(await (await fetch(`${frontDoor}/`)).text(), probeDefaultAnswer);
    assert.ok(run.digest, `the run built a digest before acceptance: ${shown}`);
    assert.deepEqual(
      catalog.filter((entry) => entry.digest === run.digest && entry.stage === 'production'),
      [],
      `${run.digest} was released at production: ${JSON.stringify(catalog)}`,
    );
    const released = (await journalSince(broken.date)).filter(
      (entry) => entry.action === 'release' && entry.digest === run.digest,
    );
    assert.deepEqual(released, [], 'the journal has no release of the rejected digest');
    assert.deepEqual(await candidatesLeft(), [], 'the rejected candidate is removed');
    assert.equal(logs.status, 0, logs.err);
    assert.match(logs.out, /accept/);
    // Nothing of the rejected candidate reached the front door.
    assert.deepEqual(loaded.failures, {}, `${loaded.failed} of ${loaded.sent} requests failed`);
    assert.ok(loaded.sent > 100, `only ${loaded.sent} requests were made`);
  });

  it('starts no run for a fix that a mirror forged or rolled back, and the fleet stays as it is', async () => {
    const before = await status();
    await loadVulnData(3);
    const genuine = repo.current();
    const first = publications[0]!;
    const forged = await repo.publish([await probeServerPackage('1.3')], { signWith: 'other-key' });
    const forgedCheck = await herd(['check', service, '--json']);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const afterForged = await newRuns();
    // The genuine key, a newer version, but dated before the first publication: a replayed Release.
    await repo.publish([await probeServerPackage('1.3')], {
      date: new Date(first.date.getTime() - 86_400_000),
    });
    const replayedCheck = await herd(['check', service, '--json']);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const afterReplayed = await newRuns();
    const after = await status();

    assert.ok(forged.date > genuine.date);
    assert.notEqual(forgedCheck.status, 0, `herd check took a forged InRelease:\n${forgedCheck.out}`);
    assert.match(forgedCheck.err, /sign|key/i, forgedCheck.err);
    assert.deepEqual(afterForged, [], `a forged publication started a run: ${JSON.stringify(afterForged)}`);
    assert.equal(replayedCheck.status, 0, `herd check:\n${replayedCheck.out}${replayedCheck.err}`);
    const [outcome] = JSON.parse(replayedCheck.out) as CheckOutcome[];
    assert.equal(outcome?.run, undefined, replayedCheck.out);
    assert.match(outcome?.skipped ?? '', /older|roll|back|downgrade/i, replayedCheck.out);
    assert.deepEqual(afterReplayed, [], `a replayed Release started a run: ${JSON.stringify(afterReplayed)}`);
    assert.equal(after.revision, before.revision);
  });

  it('ends a run cut short by kill -9 of the control plane consistently after herd serve, with no candidate left', async () => {
    const before = await status();
    await loadVulnData(3);
    await repo.publish([await probeServerPackage('1.3')]);
    const buildOrLater = new Set<RunStage>(passedStages.slice(1));
    let seen = '';
    const running = await eventually(
      'a run for probe-server 1.3 at stage build or later',
      90_000,
      async () => {
        const fresh = await polledNewRuns();
        seen = JSON.stringify(fresh.map(({ id, status, stage }) => ({ id, status, stage })));
        return fresh.find((run) => run.status === 'running' && run.stage && buildOrLater.has(run.stage));
      },
      () => `${seen}\n${up?.output().slice(-4000)}`,
      250,
    );

    up?.child.kill('SIGKILL');
    await new Promise((resolve) => up?.child.once('exit', resolve));
    up = startHerd(['serve', '--port', '0'], home, { HERD_LOG_LEVEL: 'info' });
    await up.waitFor(/fleet API at/, 60_000);
    let ended: PipelineRun | undefined;
    try {
      await eventually(
        `run ${running.id} to end after the restart`,
        120_000,
        async () => {
          const run = (await polledRuns()).find((one) => one.id === running.id);
          seen = JSON.stringify(run);
          return run && (run.status === 'succeeded' || run.status === 'failed') ? run : undefined;
        },
        () => seen,
        1000,
      );
      ended = await listedRun(running.id);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await evidence()}`);
    }
    const shown = `run ${ended.id} (killed at ${running.stage}): ${JSON.stringify(ended, null, 2)}`;
    console.log(
      `# killed during run ${ended.id} at ${running.stage}: it ${ended.status}${ended.error ? ` (${ended.error})` : ''}`,
    );
    // Resumed, the run rolls out 1.3; ended as interrupted, the monitor starts a fresh run for it.
    // Either way the fleet ends up complete on a run's new digest, and serving.
    let remedied: PipelineRun | undefined;
    let settled: Status;
    try {
      await eventually(
        'a run since the kill to succeed and the fleet to settle on its digest',
        150_000,
        async () => {
          const now = await polledStatus();
          const all = await polledRuns();
          seen = `${JSON.stringify(now)}\n${JSON.stringify(all.map(({ id, status, stage, error }) => ({ id, status, stage, error })))}`;
          remedied = all.find((run) => run.id >= running.id && run.status === 'succeeded');
          const idle = all.every((run) => run.status !== 'running');
          return idle &&
            remedied?.digest &&
            now.revision === shortDigest(remedied.digest) &&
            now.status === 'complete' &&
            now.instances.length === size &&
            now.instances.every((one) => one.ready && one.revision === now.revision)
            ? now
            : undefined;
        },
        () => `${seen}\n${up?.output().slice(-4000)}`,
        1000,
      );
      // Settled: what the CLI prints now is what is asserted.
      settled = await status();
      remedied = await listedRun((remedied as PipelineRun).id);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await evidence()}`);
    }

    assert.equal(settled.revision, shortDigest(remedied.digest as Digest), JSON.stringify(settled));
    assert.equal(settled.status, 'complete', JSON.stringify(settled));
    assert.ok(
      settled.instances.length === size &&
        settled.instances.every((one) => one.ready && one.revision === settled.revision),
      JSON.stringify(settled),
    );
    if (ended.status === 'failed') assert.match(ended.error ?? '', /interrupt/i, shown);
    else assert.equal(remedied?.id, ended.id, shown);
    assert.notEqual(settled.revision, before.revision);
    assert.ok(
      remedied?.findings.some((finding) => finding.cvesFixed.includes('CVE-2026-0003')),
      JSON.stringify(remedied),
    );
    assert.deepEqual(await candidatesLeft(), [], 'no candidate is left');
    const door = settled.frontDoor ?? frontDoor;
    const answer = await eventually('the front door to answer', 10_000, () =>
      fetch(`${door}/`).then(
        (response) => response.text(),
        () => undefined,
      ),
    );
    assert.equal(answer, probeDefaultAnswer);
    // The run's record is whole: no stage of an ended run still says it is running.
    const ranOn = ended.stages.filter((stage) => stage.status === 'running');
    assert.deepEqual(ranOn, [], `stages left running: ${shown}`);
  });
});
