import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventFeed } from './event-feed.js';

describe('EventFeed', () => {
  it('keeps what is emitted between subscribe and the first next', async () => {
    const feed = new EventFeed<number>();
    const abort = new AbortController();
    const events = feed.subscribe(abort.signal);

    feed.emit(1);
    feed.emit(2);
    abort.abort();
    feed.emit(3);

    const seen: number[] = [];
    for await (const event of events) seen.push(event);
    assert.deepEqual(seen, [1, 2]);
  });

  it('hands out what was delivered, then throws the failure', async () => {
    const feed = new EventFeed<number>();
    const events = feed.subscribe(new AbortController().signal);
    const seen: number[] = [];

    feed.emit(1);
    feed.fail(new Error('stream broke'));

    await assert.rejects(async () => {
      for await (const event of events) seen.push(event);
    }, /stream broke/);
    assert.deepEqual(seen, [1]);
  });

  it('wakes a waiting subscriber when its signal aborts', async () => {
    const feed = new EventFeed<number>();
    const abort = new AbortController();
    const events = feed.subscribe(abort.signal);
    const draining = (async () => {
      for await (const _ of events) {
        // nothing arrives
      }
    })();

    setTimeout(() => abort.abort(), 10);

    await draining;
  });
});
