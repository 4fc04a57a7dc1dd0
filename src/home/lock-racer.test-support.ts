/**
 * One starter in the lock race of home-lock.test.ts, as its own process: waits until the agreed
 * moment (so the racers really meet), tries HERD_HOME's lock and prints `won` or the error code.
 * A winner holds the lock until the test creates the release file, so a racer that started late
 * still finds a live holder rather than a free lock.
 * Usage: node --import tsx lock-racer.test-support.ts <home> <start at, epoch ms> <release file>
 */
import { existsSync } from 'node:fs';
import { HerdError } from '../herd-error.js';
import { lockHome } from './home-lock.js';

const [root, startAt, releaseFile] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  const lock = await lockHome({ root: root! }, { command: 'lock racer' });
  process.stdout.write('won\n');
  while (!existsSync(releaseFile!)) await new Promise((resolve) => setTimeout(resolve, 50));
  await lock.release();
} catch (error) {
  process.stdout.write(`${error instanceof HerdError ? error.code : String(error)}\n`);
}
