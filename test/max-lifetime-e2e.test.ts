/**
 * Max instance lifetime end to end on the real engine: `herd up` runs the probe fleet (the
 * statically compiled probe server from a signed fixture repository, as in fleet-e2e) with
 * `fleet.maxLifetimeSeconds` set short. Under load on its front door over loopback, every instance
 * it started with is replaced for its age, one at a time and surge first, with no request failed,
 * and the journal says why each went.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { unwrap } from '../src/server/api-client.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
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
/** The shortest the spec allows: each instance is due 9 to 10 s after it was made. */
const maxLifetimeSeconds = 10;

interface Status {
  status: string;
  ready: number;
  instances: { id: string; ready: boolean }[];
}

describe('max instance lifetime on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  const polledStatus = async () =>
    (await unwrap(localApi(home).fleets[':service'].$get({ param: { service: 'probe' } }))) as Status;

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const spec = probeSpecText(repo, { size, env: { GREETING: 'hello', HEALTHY: '1' } }).replace(
      '  stopGraceSeconds:',
      `  maxLifetimeSeconds: ${maxLifetimeSeconds}\n  stopGraceSeconds:`,
    );
    const dir = await writeSpecDir({ 'herd.yaml': spec });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
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

  it('replaces every instance past its lifetime under load with no failed request', async () => {
    const started = await polledStatus();
    const originals = new Set(started.instances.map((one) => one.id));
    const loops = [loadLoop(`${frontDoor}/`), loadLoop(`${frontDoor}/`)];
    let seen: Status | undefined;
    let mostInstances = 0;

    try {
      await eventually(
        'every first instance replaced for its age',
        45_000,
        async () => {
          seen = await polledStatus();
          mostInstances = Math.max(mostInstances, seen.instances.length);
          const replaced = !seen.instances.some((one) => originals.has(one.id));
          return replaced && seen.ready === size ? seen : undefined;
        },
        () => `${JSON.stringify(seen)}\n${up?.output().slice(-3000)}`,
      );
    } finally {
      await Promise.all(loops.map((loop) => loop.stop()));
    }

    const answers = loops.flatMap((loop) => loop.answers);
    const failures = loops.flatMap((loop) => loop.failures);
    assert.equal(originals.size, size);
    assert.deepEqual(failures, []);
    assert.ok(answers.length > 100, `only ${answers.length} answers`);
    assert.ok(answers.every((answer) => answer === 'hello'));
    // One at a time: never more than size + the one surge instance.
    assert.ok(mostInstances <= size + 1, `${mostInstances} instances at once`);
    const journal = await unwrap(localApi(home).journal.$get({ query: { service: 'probe', limit: '1000' } }));
    const expired = journal
      .filter((entry) => entry.details.event === 'instance-removed' && entry.details.reason === 'expired')
      .map((entry) => String(entry.details.id));
    for (const id of originals) assert.ok(expired.includes(id), `${id} is not journaled as expired`);
  });
});
