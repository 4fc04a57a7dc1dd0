/**
 * Autoscaling end to end on the real engine: `herd up` runs the probe fleet (test/support's fixture
 * repository, the same as fleet-e2e's) with `fleet.autoscale` on in-flight requests at the front
 * door, min 2, max 4, deciding every second, with a 5 s scale-down stabilization window. Bounded
 * load against the front door on loopback (8 loops of test/support's front-door load, each one `/slow?ms=300` request at a time)
 * scales it up to max; once the load stops, it goes back to 2 after the window. The journal holds
 * each decision with its inputs, and no request failed while instances came and went.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { unwrap } from '../src/server/api-client.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerdAsync } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import { loadLoop } from './support/front-door-load.js';
import {
  eventually,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const autoscale = `  autoscale:
    min: 2
    max: 4
    metrics: [{ type: inFlightRequests, averageValue: 1 }]
    syncPeriodSeconds: 1
    behavior: { scaleDown: { stabilizationWindowSeconds: 5 } }
`;

interface Status {
  size: number;
  ready: number;
  instances: { id: string; state: string; ready: boolean }[];
  autoscale?: { min: number; max: number; last?: { message: string } };
}

interface Decision {
  at: number;
  from: number;
  to: number;
  reason: string;
  recommended?: number;
  stabilization?: { reason: string; replicas: number };
  limit?: { reason: string };
  metrics: { kind: string; metric: string; current?: number; target: number }[];
}

describe('an autoscaled fleet on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  const status = async () =>
    (await unwrap(localApi(home).fleets[':service'].$get({ param: { service: 'probe' } }))) as Status;
  let seen: Status | undefined;
  const settledAt = (size: number) => async () => {
    const now = await status();
    seen = now;
    const running = now.instances.filter((one) => one.state === 'running');
    return now.size === size && running.length === size && now.ready === size ? now : undefined;
  };

  before(async () => {
    repo = await probeRepo();
    home = await freshHome();
    const spec = probeSpecText(repo, { size: 2, env: { GREETING: 'scaled' } }) + autoscale;
    const dir = await writeSpecDir({ 'herd.yaml': spec });
    up = startHerd(['up', dir], home);
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
  });

  after(async () => {
    await stopHerd(up);
    if (home) await stopHerdPodman(home);
    await repo?.close();
  });

  it('scales from 2 up to max under load at the front door, and back to 2 after the window once it stops', async () => {
    await eventually('2 ready instances', 30_000, settledAt(2), () => JSON.stringify(seen));
    // Each loop keeps one 300 ms request open at a time: about 8 in flight at the door in all.
    const loops = Array.from({ length: 8 }, () => loadLoop(`${frontDoor}/slow?ms=300`));
    const scaledUp = await eventually('4 ready instances', 40_000, settledAt(4), () => JSON.stringify(seen));
    await Promise.all(loops.map((loop) => loop.stop()));
    const stoppedAt = Date.now();
    await eventually('back to 2 ready instances', 40_000, settledAt(2), () => JSON.stringify(seen));
    const shown = await runHerdAsync(['status', 'probe'], { home });
    const journal = await runHerdAsync(['journal', '--service', 'probe', '--json'], { home });
    const decisions = (
      JSON.parse(journal.out) as { action: string; details: { event?: string; decision?: Decision } }[]
    )
      .filter((entry) => entry.action === 'scale' && entry.details.event === 'autoscaled')
      .map((entry) => entry.details.decision as Decision);

    assert.equal(scaledUp.autoscale?.max, 4);
    const failures = loops.flatMap((loop) => loop.failures);
    const requests = loops.reduce((sum, loop) => sum + loop.answers.length, 0) + failures.length;
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    const up = decisions.filter((one) => one.to > one.from);
    const down = decisions.filter((one) => one.to < one.from);
    assert.ok(up.length >= 1 && up.at(-1)?.to === 4, JSON.stringify(decisions));
    const first = up[0] as Decision;
    assert.equal(first.from, 2);
    assert.equal(first.metrics[0]?.metric, 'inFlightRequests');
    assert.ok((first.metrics[0]?.current ?? 0) > 1, 'in flight per instance above the target of 1');
    assert.ok((first.recommended ?? 0) >= 4, JSON.stringify(first));
    // Once the load stopped, the recommendation fell (to 0, or to 3 for a period the load ended
    // in), but the 5 s window held the size above it: the highest recent recommendation won.
    const held = decisions.find(
      (one) => one.from === 4 && one.stabilization?.reason === 'scale-down-stabilized',
    );
    assert.ok(held, JSON.stringify(decisions));
    assert.ok(held.to > (held.recommended ?? 0), JSON.stringify(held));
    assert.equal(held.stabilization?.replicas, held.to);
    // Then down to min, in one step or through 3 as the window's recommendations aged out.
    assert.ok(down.length >= 1 && down.length <= 2, JSON.stringify(down));
    assert.equal(down[0]?.from, 4);
    assert.equal(down.at(-1)?.to, 2);
    for (const [index, one] of down.entries()) {
      assert.ok(one.at >= stoppedAt && one.at >= held.at, JSON.stringify(one));
      if (index > 0) assert.equal(one.from, down[index - 1]?.to);
    }
    assert.match(shown.out, /autoscaled 2 to 4; last decision/);
    // By hand, the size is the autoscaler's to change again, and herd scale says so.
    const scaled = await runHerdAsync(['scale', 'probe', '3'], { home });
    assert.equal(scaled.status, 0, scaled.err);
    assert.match(scaled.out, /probe is autoscaled \(2 to 4\): the autoscaler owns its size/);
  });
});
