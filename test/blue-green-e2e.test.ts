/**
 * A blue-green rollout end to end on the real engine: `herd up` runs the probe fleet (the statically
 * compiled probe server from a signed fixture repository, as in fleet-e2e) with
 * `strategy.type: blue-green`; under load on its front door over loopback, a second revision is
 * rolled out with the CLI and a rollback follows inside the bake time. Each load loop sends one
 * request at a time, so what it saw is ordered: the old revision, then the new one, then the old one
 * again, with no request failed and no answer from the other fleet between switches. The rollback is
 * timed from the call to the control plane (over its socket, as `herd rollback` calls it, without the
 * CLI's own start) until the front door answers from the old revision.
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
import { loadLoop } from './support/front-door-load.js';
import {
  eventually,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const size = 2;
/** Long enough for the rollback to land inside it on a busy machine; the test never waits it out. */
const bakeSeconds = 300;

function specText(repo: FixtureRepo, greeting: string): string {
  return probeSpecText(repo, { size, env: { GREETING: greeting, HEALTHY: '1' } }).replace(
    'strategy: {',
    `strategy: { type: blue-green, bakeSeconds: ${bakeSeconds},`,
  );
}

interface Status {
  revision: string;
  status: string;
  frontDoor: string;
  instances: { id: string; revision: string; ready: boolean; serving?: boolean }[];
  bake?: { revision: string; until: string };
}

/** `['blue', 'blue', 'green', 'blue']` → `['blue', 'green', 'blue']`. */
function runsOf(answers: readonly string[]): string[] {
  return answers.filter((answer, index) => index === 0 || answers[index - 1] !== answer);
}

describe('a blue-green rollout on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let blueRevision: string;
  let keyPassword = '';
  const herd = (args: string[]) => runHerd(args, { home, env: { HERD_KEY_PASSWORD: keyPassword } });
  const polledStatus = async () =>
    (await unwrap(localApi(home).fleets[':service'].$get({ param: { service: 'probe' } }))) as Status;

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, 'blue') });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
    keyPassword = (await readFile(join(home, 'keys', 'cosign.password'), 'utf8')).trim();
    blueRevision = (await polledStatus()).revision;
  });

  after(async () => {
    const child = up?.child;
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    if (home) await stopHerdPodman(home);
    await repo?.close();
  });

  it('switches to the new fleet with no failed request, and back in under 1 s on a rollback inside the bake time', async (t) => {
    // Built, signed and released before the load starts: runHerd blocks this process.
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo, 'green') });
    const build = herd(['build', dir, '--json']);
    assert.equal(build.status, 0, build.err);
    const green = JSON.parse(build.out).digest as string;
    for (const args of [
      ['sign', green],
      ['release', 'probe', green, '--stage', 'candidate'],
    ]) {
      const step = herd(args);
      assert.equal(step.status, 0, `${args.join(' ')}: ${step.err}`);
    }
    const greenRevision = shortDigest(green as Digest);
    const loops = [loadLoop(`${frontDoor}/`), loadLoop(`${frontDoor}/`)];
    let seen: Status | undefined;
    const lastSeen = () => `${JSON.stringify(seen)}\n${up?.output().slice(-3000)}`;

    const rollout = await runHerdAsync(['rollout', 'probe', green], { home });
    const switched = await eventually(
      'the switch to the new fleet',
      60_000,
      async () => {
        seen = await polledStatus();
        return seen.revision === greenRevision && seen.status === 'complete' ? seen : undefined;
      },
      lastSeen,
    );
    await eventually('the new greeting at the front door', 5_000, async () =>
      (await (await fetch(`${frontDoor}/`)).text()) === 'green' ? true : undefined,
    );
    const baking = await polledStatus();
    const printed = await runHerdAsync(['status', 'probe'], { home });
    const startedAt = Date.now();
    const back = await unwrap(
      localApi(home).fleets[':service'].rollback.$post({ param: { service: 'probe' } }),
    );
    let answer = '';
    while (answer !== 'blue' && Date.now() - startedAt < 10_000)
      answer = await (await fetch(`${frontDoor}/`)).text();
    const switchBackMs = Date.now() - startedAt;
    await eventually(
      'the new fleet to be removed',
      30_000,
      async () => {
        seen = await polledStatus();
        return seen.status === 'complete' && seen.instances.every((one) => one.revision === blueRevision)
          ? seen
          : undefined;
      },
      lastSeen,
    );
    await Promise.all(loops.map((loop) => loop.stop()));
    const answers = loops.map((loop) => loop.answers.length).join(' and ');
    t.diagnostic(`back on the old fleet ${switchBackMs} ms after the rollback call; ${answers} answers`);

    assert.equal(rollout.status, 0, rollout.err);
    assert.equal(switched.instances.length, 2 * size, JSON.stringify(switched));
    const bakingOld = baking.instances.filter((one) => one.revision === blueRevision);
    assert.equal(bakingOld.length, size, `the old fleet bakes: ${JSON.stringify(baking)}`);
    assert.ok(
      bakingOld.every((one) => one.serving === false),
      `the old fleet bakes out of traffic: ${JSON.stringify(baking)}`,
    );
    assert.equal(baking.bake?.revision, blueRevision, JSON.stringify(baking));
    assert.match(
      printed.out,
      new RegExp(`revision ${blueRevision} kept out of traffic until \\S+Z; herd rollback`),
    );
    assert.equal((back as { revision: string }).revision, blueRevision);
    assert.ok(
      switchBackMs < 1_000,
      `the front door answered from the old fleet ${switchBackMs} ms after the rollback`,
    );
    for (const loop of loops) {
      assert.equal(loop.failures.length, 0, `${loop.failures.join('\n')}\n${up?.output().slice(-2000)}`);
      assert.ok(loop.answers.length > 50, `only ${loop.answers.length} answers`);
      assert.deepEqual(runsOf(loop.answers), ['blue', 'green', 'blue']);
    }
  });
});
