import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderedWindow } from './ordered-window.js';

const after = <T>(ms: number, value: T) => new Promise<T>((done) => setTimeout(() => done(value), ms));

describe('OrderedWindow', () => {
  it('delivers results in the order they were pushed, whatever order they finish in', async () => {
    const delivered: number[] = [];
    const window = new OrderedWindow<number>(10, (n) => {
      delivered.push(n);
    });

    await window.push(after(30, 1));
    await window.push(after(1, 2));
    await window.push(after(15, 3));
    await window.flush();

    assert.deepEqual(delivered, [1, 2, 3]);
  });

  it('holds at most `limit` results in flight before it waits', async () => {
    const delivered: number[] = [];
    const window = new OrderedWindow<number>(2, (n) => {
      delivered.push(n);
    });

    for (const n of [1, 2, 3, 4]) await window.push(Promise.resolve(n));

    assert.deepEqual(delivered, [1, 2]);
  });

  it('surfaces a failed result when its turn comes', async () => {
    const window = new OrderedWindow<number>(10, () => {});

    await window.push(Promise.reject(new Error('hash failed')));

    await assert.rejects(window.flush(), /hash failed/);
  });
});
