/**
 * One starter in the lock race of home-lock.test.ts, as its own process: waits until the agreed
 * moment (so the racers really meet), tries HERD_HOME's lock, prints `won` or the error code, and
 * holds a won lock a while so the losers find a live holder.
 * Usage: node --import tsx lock-racer.test-support.ts <home> <start at, epoch ms> <hold ms>
 */
import { HerdError } from '../herd-error.js';
import { lockHome } from './home-lock.js';

const [root, startAt, holdMs] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
try {
  const lock = await lockHome({ root: root! }, { command: 'lock racer' });
  process.stdout.write('won\n');
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  await lock.release();
} catch (error) {
  process.stdout.write(`${error instanceof HerdError ? error.code : String(error)}\n`);
}
