/**
 * Fleets end to end on the real engine: `herd up` builds a spec from a signed fixture repository
 * (its one program is probe-server, compiled statically at test time), gates, signs and releases
 * it, starts its own podman service and rolls out the fleet behind a front door. Then, against
 * that running control plane, through the CLI:
 * - the instances are hardened (podman inspect);
 * - `podman rm -f` of an instance gets it replaced within 5 s;
 * - a revision whose health check never passes is reverted, while the front door keeps serving;
 * - an unsigned digest and a revoked one are refused, and the fleet is left as it was;
 * - kill -9 of the control plane mid-rollout, then `herd serve`: the rollout completes, with no
 *   duplicate instances.
 * The repository is read through file:// because runHerd blocks this process. What the tests
 * assert, herd prints through the CLI; while they wait, they ask the control plane's socket directly,
 * as the CLI does, without a process each time (a CLI start costs a second of CPU, taken from the
 * control plane being waited for).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shortDigest } from '../src/oci/digest.js';
import type { Digest } from '../src/oci/types.js';
import { unwrap } from '../src/server/api-client.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd, runHerdAsync } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import {
  eventually,
  podmanOf,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const size = 3;

function specText(repo: FixtureRepo, options: { healthy: boolean; greeting: string }): string {
  return probeSpecText(repo, {
    size,
    env: { GREETING: options.greeting, HEALTHY: options.healthy ? '1' : '0' },
  });
}

interface Status {
  revision: string;
  status: string;
  ready: number;
  instances: { id: string; revision: string; state: string; ready: boolean }[];
  history: { revision: string; outcome: string; reason: string }[];
}

describe('fleets on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let firstRevision: string;
  const herd = (args: string[]) => runHerd(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
  let keyPassword = '';
  const status = () => JSON.parse(herd(['status', 'probe', '--json']).out) as Status;
  /** While waiting: what `herd status probe --json` would print, from the socket. */
  const polledStatus = async () =>
    (await unwrap(localApi(home).fleets[':service'].$get({ param: { service: 'probe' } }))) as Status;

  /** Builds, gates, and optionally signs and releases a variant of the spec; returns its digest. */
  const variant = async (options: { healthy: boolean; greeting: string; sign: boolean }) => {
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, options) });
    const build = herd(['build', dir, '--json']);
    assert.equal(build.status, 0, build.err);
    const digest = JSON.parse(build.out).digest as string;
    if (options.sign) {
      for (const args of [
        ['sign', digest],
        ['release', 'probe', digest, '--stage', 'candidate'],
      ]) {
        const step = herd(args);
        assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
      }
    }
    return digest;
  };

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, { healthy: true, greeting: 'first' }) });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
    keyPassword = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
    firstRevision = status().revision;
  });

  after(async () => {
    const child = up?.child;
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // `herd serve` leaves fleets running by design, and the podman service it adopted after the
    // kill -9 is not its own to stop: the test cleans both up itself.
    if (home) await stopHerdPodman(home);
    await repo?.close();
  });

  it('serves the fleet at its front door from hardened instances', async () => {
    const answer = await fetch(`${frontDoor}/`);
    const podman = await podmanOf(home);
    const ids = podman(['ps', '-q', '--filter', 'label=dev.herd.service=probe']).trim().split('\n');
    const inspected = JSON.parse(podman(['inspect', ...ids])) as {
      Config: { User: string };
      HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[] };
      EffectiveCaps: string[] | null;
    }[];

    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), 'first');
    assert.equal(ids.length, size);
    for (const container of inspected) {
      assert.equal(container.HostConfig.ReadonlyRootfs, true);
      assert.equal(container.Config.User, '65532:65532');
      assert.ok(container.HostConfig.SecurityOpt.includes('no-new-privileges'));
      assert.deepEqual(container.EffectiveCaps ?? [], []);
    }
  });

  it('replaces an instance removed with podman rm -f within 5 s', async () => {
    const podman = await podmanOf(home);
    const [victim] = podman(['ps', '-q', '--filter', 'label=dev.herd.service=probe']).trim().split('\n');

    podman(['rm', '-f', victim!]);
    const started = Date.now();
    await eventually('a replacement', 5_000, () => {
      const running = podman(['ps', '-q', '--filter', 'label=dev.herd.service=probe']).trim().split('\n');
      return running.length === size && !running.includes(victim!) ? running : undefined;
    });

    assert.ok(Date.now() - started <= 5_000);
  });

  it('refuses an unsigned digest and a revoked one, and leaves the fleet as it was', async () => {
    const unsigned = await variant({ healthy: true, greeting: 'unsigned', sign: false });
    const revoked = await variant({ healthy: true, greeting: 'revoked', sign: true });
    assert.equal(herd(['revoke', 'probe', revoked, '--reason', 'test']).status, 0);

    const refusedUnsigned = herd(['rollout', 'probe', unsigned]);
    const refusedRevoked = herd(['rollout', 'probe', revoked]);

    assert.notEqual(refusedUnsigned.status, 0);
    assert.match(refusedUnsigned.err, /not signed by a trusted key/);
    assert.notEqual(refusedRevoked.status, 0);
    assert.match(refusedRevoked.err, /revoked/);
    assert.equal(status().revision, firstRevision);
    const journal = herd(['journal', '--service', 'probe', '--json']);
    assert.ok(
      (JSON.parse(journal.out) as { action: string }[]).filter((e) => e.action === 'admission-refused')
        .length >= 2,
    );
  });

  it('reverts a revision whose health check never passes, serving throughout', async () => {
    const bad = await variant({ healthy: false, greeting: 'bad', sign: true });
    let failures = 0;
    let requests = 0;
    let loading = true;
    const reasons: string[] = [];
    const load = (async () => {
      while (loading) {
        requests++;
        const response = await fetch(`${frontDoor}/`).catch((error: Error) => {
          reasons.push(
            `${new Date().toISOString()} ${error.message} ${String((error.cause as Error)?.message ?? '')}`,
          );
          return undefined;
        });
        if (response && response.status !== 200) {
          reasons.push(
            `${new Date().toISOString()} status ${response.status}: ${await response.clone().text()}`,
          );
        }
        if (response?.status !== 200) failures++;
        await response?.text();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const rollout = await runHerdAsync(['rollout', 'probe', bad], { home });
    let seen: Status | undefined;
    const reverted = (now: Status) =>
      now.history.some((h) => h.outcome === 'failed') &&
      now.status === 'complete' &&
      now.revision === firstRevision;
    await eventually(
      'the revert',
      60_000,
      async () => {
        const now = await polledStatus();
        seen = now;
        return reverted(now) ? now : undefined;
      },
      () => `${JSON.stringify(seen)}\n${up?.output().slice(-3000)}`,
    );
    const settled = JSON.parse((await runHerdAsync(['status', 'probe', '--json'], { home })).out) as Status;
    loading = false;
    await load;

    assert.equal(rollout.status, 0, rollout.err);
    assert.ok(reverted(settled), JSON.stringify(settled));
    assert.equal(settled.instances.filter((i) => i.revision === firstRevision).length, size);
    assert.ok(requests > 50, `only ${requests} requests were made`);
    assert.equal(
      failures,
      0,
      `${failures} of ${requests} requests failed during the bad rollout:\n${reasons.join('\n')}\n${up?.output().slice(-2000)}`,
    );
  });

  it('has printed no warning of leaked listeners through start, replacement and revert', () => {
    assert.doesNotMatch(up?.output() ?? '', /MaxListenersExceededWarning/);
  });

  it('finishes a rollout after kill -9 of the control plane, with no duplicate instances', async () => {
    const next = await variant({ healthy: true, greeting: 'second', sign: true });
    const rollout = herd(['rollout', 'probe', next]);
    assert.equal(rollout.status, 0, rollout.err);
    await eventually('the first new instance', 30_000, async () =>
      (await polledStatus()).instances.some((i) => i.revision !== firstRevision) ? true : undefined,
    );

    up?.child.kill('SIGKILL');
    await new Promise((resolve) => up?.child.once('exit', resolve));
    // At info, so that a rollout which does not complete leaves the controller's account in the failure.
    up = startHerd(['serve', '--port', '0'], home, { HERD_LOG_LEVEL: 'info' });
    await up.waitFor(/fleet API at/, 30_000);
    let seen: Status | undefined;
    const complete = (now: Status) =>
      now.status === 'complete' && now.revision === shortDigest(next as Digest);
    await eventually(
      'the rollout to complete',
      90_000,
      async () => {
        const now = await polledStatus();
        seen = now;
        return complete(now) ? now : undefined;
      },
      () => `${JSON.stringify(seen)}\n${up?.output().slice(-6000)}`,
    );
    const done = status();
    assert.ok(complete(done), JSON.stringify(done));
    const podman = await podmanOf(home);
    const running = podman(['ps', '-q', '--filter', 'label=dev.herd.service=probe']).trim().split('\n');

    assert.equal(done.instances.length, size);
    assert.equal(running.length, size);
    assert.ok(done.instances.every((i) => i.revision === shortDigest(next as Digest)));
    await eventually('the new greeting at the front door', 10_000, async () => {
      const door = ((await polledStatus()) as Status & { frontDoor: string }).frontDoor;
      const text = await (await fetch(`${door}/`)).text();
      return text === 'second' ? text : undefined;
    });
  });
});
