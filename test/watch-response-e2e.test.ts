/**
 * How fast herd answers drift, end to end on the real engine: `herd up` builds examples/hello from
 * the host's Debian archive and runs it as a fleet of 4 with the example's own defaults (health
 * every 10 s, minReadySeconds 5, 25% surge and unavailable). Under steady load on the front door,
 * an executable is copied into a random instance 5 times with `podman cp`, through herd's own
 * podman storage. Each time: the instance leaves the front door within 2 s, a replacement is ready
 * within 5 s of detection, the drifted instance is removed, and no request fails throughout.
 * bench/watch-response.ts makes 15 drops the same way.
 */
import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LoadResult, runLoad } from '../bench/load.js';
import { freshHome } from './support/build-harness.js';
import { projectRoot } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import {
  type DropTiming,
  describeTimings,
  dropExecutable,
  settled,
  summarize,
} from './support/drift-drops.js';
import { podmanOf, type RunningHerd, startHerd, stopHerd } from './support/herd-process.js';
import { requireTool } from './support/podman.js';

const size = 4;
const drops = 5;

describe('quarantine and replacement of drifted hello instances on podman, under load', () => {
  let home: string;
  let up: RunningHerd | undefined;
  let door: string;

  before(async () => {
    requireTool('podman', 'podman');
    home = await freshHome();
    const dir = join(home, 'hello-spec');
    await cp(join(projectRoot, 'examples/hello'), dir, { recursive: true });
    // The spec changes below, so a lock left from an earlier build no longer matches it.
    await rm(join(dir, 'herd.lock'), { force: true });
    const spec = await readFile(join(dir, 'herd.yaml'), 'utf8');
    await writeFile(join(dir, 'herd.yaml'), `${spec}\nfleet:\n  size: ${size}\n`);
    up = startHerd(['up', dir], home, { HERD_LOG_LEVEL: 'warn' });
    door = (await up.waitFor(/front door {2}(http:\/\/\S+?)\/?\n/, 1_200_000))[1]!;
  });

  after(async () => {
    await stopHerd(up);
  });

  it(`drops an executable into a random instance ${drops} times: out of the front door within 2 s, a replacement ready within 5 s of detection, no failed request`, async () => {
    const api = localApi(home);
    const podman = await podmanOf(home);
    await settled(api, 'hello', size, 120_000);
    const stopLoad = new AbortController();
    const load = runLoad({ url: `${door}/`, rate: 100, durationMs: 600_000, signal: stopLoad.signal });
    const timings: DropTiming[] = [];
    let result: LoadResult;
    try {
      for (let drop = 0; drop < drops; drop++) {
        timings.push(await dropExecutable({ api, service: 'hello', podman }));
        await settled(api, 'hello', size);
      }
    } finally {
      stopLoad.abort();
      result = await load;
    }

    for (const line of describeTimings(timings)) console.log(`# ${line}`);
    console.log(`# ${result.sent} requests at ${result.rate.toFixed(0)}/s, ${result.failed} failed`);
    const summary = summarize(timings);
    assert.deepEqual(result.failures, {}, `${result.failed} of ${result.sent} requests failed`);
    assert.ok(result.sent > 500, `only ${result.sent} requests were made`);
    assert.deepEqual(
      timings.map((one) => one.quarantine),
      timings.map(() => 'out-of-door'),
    );
    assert.ok(
      summary.outOfDoor.max <= 2_000,
      `out of the front door ${summary.outOfDoor.max} ms after detection`,
    );
    // The goal is 2 s from the change (bench/watch-response checks it); detection waits for the
    // fast path's next pass, which a loaded test machine can delay, hence the extra second here.
    assert.ok(
      summary.changeToOutOfDoor.max <= 3_000,
      `out of the front door ${summary.changeToOutOfDoor.max} ms after the copy`,
    );
    assert.ok(
      summary.replacementReady.max <= 5_000,
      `replacement ready ${summary.replacementReady.max} ms after detection`,
    );
    assert.ok(
      timings.every((one) => one.removedMs >= one.replacementReadyMs),
      'each drifted instance was removed only once its replacement was ready',
    );
  });
});
