import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { backgroundClock, systemClock } from './clock.js';

/** Runs `body` in a fresh node with this module loaded; returns what it printed and how long it took. */
function runWithClock(body: string): { stdout: string; ms: number } {
  const clockModule = new URL('./clock.ts', import.meta.url).href;
  const started = Date.now();
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const clock = await import(${JSON.stringify(clockModule)});\n${body}`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  return { stdout: child.stdout, ms: Date.now() - started };
}

describe('systemClock and backgroundClock', () => {
  it('tell the time in epoch milliseconds', () => {
    const before = Date.now();

    const times = [systemClock.now(), backgroundClock.now()];

    for (const time of times) assert.ok(time >= before && time <= Date.now());
  });

  it('cancel a timer before it runs', async () => {
    let ran = false;

    systemClock.setTimer(20, () => {
      ran = true;
    })();
    await new Promise((resolve) => setTimeout(resolve, 60));

    assert.equal(ran, false);
  });

  it("keep the process alive for the system clock's timer, not for the background clock's", () => {
    const held = runWithClock("clock.systemClock.setTimer(300, () => console.log('ran'));");
    const background = runWithClock("clock.backgroundClock.setTimer(15000, () => console.log('ran'));");

    assert.equal(held.stdout.trim(), 'ran');
    assert.equal(background.stdout, '');
    assert.ok(background.ms < 15_000, `the background timer held the process for ${background.ms} ms`);
  });
});
