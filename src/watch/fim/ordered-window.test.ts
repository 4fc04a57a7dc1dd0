import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderedWindow } from './ordered-window.js';

const after = <T>(ms: number, value: T) => new Promise<T>((done) => setTimeout(() => done(value), ms));

describe('OrderedWindow', () => {
  it('delivers results in the order they were pushed, whatever order they finish in', async () => {
    const delivered: number[] = [];
    const window = new OrderedWindow<number>(10, (n) => {
      delivered.push(n);
      return undefined;
    });

    await window.push(after(30, 1));
    await window.push(after(1, 2));
    await window.push(after(15, 3));
    await window.flush();

    assert.deepEqual(delivered, [1, 2, 3]);
  });

  it('holds at most `limit` results in flight before it makes the caller wait', async () => {
    const window = new OrderedWindow<number>(2, () => undefined);
    let release: (n: number) => void = () => {};
    const first = new Promise<number>((done) => {
      release = done;
    });

    const underLimit = [window.push(first), window.push(Promise.resolve(2))];
    const overLimit = window.push(Promise.resolve(3));

    assert.deepEqual(underLimit, [undefined, undefined]);
    assert.ok(overLimit instanceof Promise);
    let waited = false;
    void overLimit.then(() => {
      waited = true;
    });
    await new Promise((done) => setImmediate(done));
    assert.equal(waited, false);
    release(1);
    await overLimit;
  });

  it('delivers a plain value at once when nothing waits ahead of it, and in turn behind one that does', async () => {
    const delivered: string[] = [];
    const window = new OrderedWindow<string>(10, (value) => {
      delivered.push(value);
      return undefined;
    });

    const atOnce = window.push('dir');
    window.push(new Promise((done) => setTimeout(() => done('hashed'), 5)));
    window.push('link');
    const beforeFlush = [...delivered];
    await window.flush();

    assert.equal(atOnce, undefined);
    assert.deepEqual(beforeFlush, ['dir']);
    assert.deepEqual(delivered, ['dir', 'hashed', 'link']);
  });

  it('surfaces a failed result when its turn comes', async () => {
    const window = new OrderedWindow<number>(10, () => undefined);

    await window.push(Promise.reject(new Error('hash failed')));

    await assert.rejects(window.flush(), /hash failed/);
  });
});
