/**
 * bench/watch-response: how fast herd takes a drifted instance out of service. `herd up` runs
 * examples/hello as a fleet of 4 with the example's own defaults (health every 10 s,
 * minReadySeconds 5, 25% surge and unavailable) in its own process and HERD_HOME; this process
 * holds a steady load on the front door and copies an executable into a random serving instance
 * with `podman cp` (through herd's own podman storage), 15 times, waiting for the fleet to settle
 * in between. The fleet API is polled every 25 ms for each drop's timings.
 *
 * It prints, as medians and maxima: copy → detection, detection → out of the front door, copy →
 * out of the front door, detection → replacement ready, detection → drifted instance removed; and
 * the failed requests (goal 0). Goals: out of the front door within 2 s of the change, replacement
 * ready within 5 s of detection. Exit 1 when a request failed or a goal was missed.
 *
 *   node --import tsx bench/watch-response.ts [--drops 15] [--rate 100]
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { localApi } from '../test/support/control-plane-api.js';
import {
  type DropTiming,
  describeTimings,
  dropExecutable,
  settled,
  summarize,
} from '../test/support/drift-drops.js';
import { podmanOf, startHerd, stopHerd } from '../test/support/herd-process.js';
import { runLoad } from './load.js';

const projectRoot = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? (argv[at + 1] ?? fallback) : fallback;
};
const drops = Number(option('drops', '15'));
const rate = Number(option('rate', '100'));
const size = 4;
const goals = { changeToOutOfDoorMs: 2_000, replacementReadyMs: 5_000 };

const home = await mkdtemp(join(tmpdir(), 'herd-bench-watch-'));
const dir = join(home, 'hello-spec');
await cp(join(projectRoot, 'examples/hello'), dir, { recursive: true });
// The spec changes below, so a lock left from an earlier build no longer matches it.
await rm(join(dir, 'herd.lock'), { force: true });
await writeFile(
  join(dir, 'herd.yaml'),
  `${await readFile(join(dir, 'herd.yaml'), 'utf8')}\nfleet:\n  size: ${size}\n`,
);

console.log(
  `bench/watch-response: HERD_HOME ${home}; starting herd up (build, gate, sign, release, ${size} instances)`,
);
const up = startHerd(['up', dir], home, { HERD_LOG_LEVEL: 'warn' });
try {
  const door = (await up.waitFor(/front door {2}(http:\/\/\S+?)\/?\n/, 1_800_000))[1]!;
  const api = localApi(home);
  const podman = await podmanOf(home);
  await settled(api, 'hello', size, 120_000);
  console.log(`${drops} drops into random instances, ${rate} req/s on ${door}/`);

  const stopLoad = new AbortController();
  const load = runLoad({ url: `${door}/`, rate, durationMs: 3_600_000, signal: stopLoad.signal });
  const timings: DropTiming[] = [];
  try {
    for (let drop = 0; drop < drops; drop++) {
      const timing = await dropExecutable({ api, service: 'hello', podman });
      timings.push(timing);
      console.log(
        `  drop ${String(drop + 1).padStart(2)}: ${timing.instance.slice(0, 12)} detected ${timing.detectMs} ms after the copy, ` +
          `out of the front door +${timing.outOfDoorMs} ms, replacement ready +${timing.replacementReadyMs} ms, removed +${timing.removedMs} ms`,
      );
      await settled(api, 'hello', size);
    }
  } finally {
    stopLoad.abort();
  }
  const result = await load;
  const summary = summarize(timings);

  console.log('');
  for (const line of describeTimings(timings)) console.log(line);
  console.log(`failed requests: ${result.failed} of ${result.sent} (goal 0)`);
  if (result.failed > 0) console.log(`  why: ${JSON.stringify(result.failures)}`);
  console.log(
    `goals: out of the front door within ${goals.changeToOutOfDoorMs} ms of the change, ` +
      `replacement ready within ${goals.replacementReadyMs} ms of detection`,
  );
  process.exitCode =
    result.failed === 0 &&
    summary.changeToOutOfDoor.max <= goals.changeToOutOfDoorMs &&
    summary.replacementReady.max <= goals.replacementReadyMs
      ? 0
      : 1;
} finally {
  await stopHerd(up);
}
