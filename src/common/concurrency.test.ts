import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concurrencyLimit, mapLimit } from './concurrency.js';

/** A job that records how many ran at once and finishes when told. */
function tracker() {
  let running = 0;
  let most = 0;
  const order: string[] = [];
  const release: (() => void)[] = [];
  const job =
    (name: string, fail = false) =>
    async () => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { job, release, tick, order, most: () => most };
}

test('concurrencyLimit runs at most its limit at once, the others in the order they came', async () => {
  const limited = concurrencyLimit(2);
  const t = tracker();
  const all = ['a', 'b', 'c', 'd', 'e'].map((name) => limited(t.job(name)));
  await t.tick();
  assert.deepEqual(t.order, ['a', 'b']);
  while (t.release.length > 0) {
    t.release.shift()!();
    await t.tick();
  }
  assert.deepEqual(await Promise.all(all), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(t.order, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(t.most(), 2);
});

test('concurrencyLimit: a place freed goes to the call already waiting, and a later call waits its turn', async () => {
  const limited = concurrencyLimit(1);
  const t = tracker();
  const first = limited(t.job('first'));
  const waiter = limited(t.job('waiter'));
  await t.tick();
  t.release.shift()!();
  await first;
  const late = limited(t.job('late'));
  await t.tick();
  assert.equal(t.most(), 1, 'two ran at once');
  assert.deepEqual(t.order, ['first', 'waiter']);
  t.release.shift()!();
  await waiter;
  await t.tick();
  t.release.shift()!();
  assert.equal(await late, 'late');
  assert.equal(t.most(), 1);
});

test('concurrencyLimit: a failed call frees its place and fails on its own', async () => {
  const limited = concurrencyLimit(1);
  const t = tracker();
  const failing = limited(t.job('failing', true));
  const next = limited(t.job('next'));
  await t.tick();
  t.release.shift()!();
  await assert.rejects(failing, /failing failed/);
  await t.tick();
  assert.deepEqual(t.order, ['failing', 'next']);
  t.release.shift()!();
  assert.equal(await next, 'next');
});

test('mapLimit keeps the input order and runs at most its limit at once', async () => {
  let running = 0;
  let most = 0;
  const results = await mapLimit([30, 5, 20, 1, 10], 2, async (ms, index) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return `${index}:${ms}`;
  });
  assert.deepEqual(results, ['0:30', '1:5', '2:20', '3:1', '4:10']);
  assert.equal(most, 2);
});
