import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceSpec } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { LogCollector, ResumeFilter } from './log-collector.js';
import { ManualClock, t0, tempLogsDir } from './logs.test-support.js';
import { SegmentLogStore } from './segment-log-store.js';
import type { LogEntry, LogSink, StoredLogEntry } from './types.js';

const digest = `sha256:${'a'.repeat(64)}` as const;

function specFor(service: string, revision = 'r1'): InstanceSpec {
  return {
    service,
    revision,
    digest,
    imageRef: `127.0.0.1:5001/${service}@${digest}`,
    user: { uid: 65532, gid: 65532 },
    env: { SECRET_TOKEN: 'hunter2' },
    writable: ['/tmp'],
    resources: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 64 },
    stopGraceSeconds: 5,
  };
}

async function harness(options: { now?: () => number } = {}) {
  const engine = new MemoryEngine({ now: options.now ?? (() => t0) });
  await engine.ensureImage(specFor('web'));
  const clock = new ManualClock();
  const dir = await tempLogsDir();
  const store = await SegmentLogStore.open({ dir, clock });
  const forwarded: LogEntry[] = [];
  const forwarder: LogSink = { write: (entries) => forwarded.push(...entries), close: async () => {} };
  const collector = new LogCollector({ engine, store, forwarders: [forwarder], clock });
  return { engine, clock, dir, store, collector, forwarded };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const texts = (entries: StoredLogEntry[]) => entries.map((e) => e.text);

describe('LogCollector', () => {
  it('stores every instance’s lines labelled with service, instance and revision, and forwards them', async () => {
    const { engine, store, collector, forwarded } = await harness();
    collector.start();
    const web = await engine.create(specFor('web', 'r7'));

    engine.print(web.id, 'GET / 200');
    engine.print(web.id, 'warning: slow', 'stderr');
    const stored = await eventually('three lines', async () => {
      const lines = await store.query({ service: 'web', limit: 10 });
      return lines.length === 3 ? lines : undefined;
    });
    await collector.stop();

    assert.deepEqual(
      stored.map((e) => [e.service, e.instance, e.revision, e.stream, e.text]),
      [
        ['web', web.id, 'r7', 'stdout', `started web ${digest}`],
        ['web', web.id, 'r7', 'stdout', 'GET / 200'],
        ['web', web.id, 'r7', 'stderr', 'warning: slow'],
      ],
    );
    assert.deepEqual(
      forwarded.map((e) => e.text),
      texts(stored),
    );
    assert.ok(!JSON.stringify(stored).includes('hunter2'));
  });

  it('crash: reads an instance’s logs to the end before letting go, and keeps them after removal', async () => {
    const { engine, store, collector } = await harness();
    collector.start();
    const web = await engine.create(specFor('web'));
    await eventually('a follower', async () => (collector.following().includes(web.id) ? true : undefined));

    for (let i = 0; i < 100; i++) engine.print(web.id, `last words ${i}`);
    engine.crash(web.id, 1);
    await collector.drained(web.id);
    engine.kill(web.id);
    const stored = await store.query({ service: 'web', instance: web.id, limit: 1000 });
    await collector.stop();

    assert.equal(stored.length, 102);
    assert.equal(stored.at(-2)!.text, 'last words 99');
    assert.equal(stored.at(-1)!.text, 'exited with code 1');
    assert.ok(!collector.following().includes(web.id));
  });

  it('finds instances that started before it through its first resync', async () => {
    const { engine, store, collector } = await harness();
    const early = await engine.create(specFor('web'));
    engine.print(early.id, 'printed before the collector');

    collector.start();
    const stored = await eventually('the early lines', async () => {
      const lines = await store.query({ service: 'web', limit: 10 });
      return lines.length === 2 ? lines : undefined;
    });
    await collector.stop();

    assert.deepEqual(texts(stored), [`started web ${digest}`, 'printed before the collector']);
  });

  it('follows on the resync timer an instance whose started event was lost', async () => {
    const { engine, clock, store, collector } = await harness();
    // The collector gets no events at all, as with a broken event stream.
    engine.events = () => ({ async *[Symbol.asyncIterator]() {} });
    collector.start();
    await collector.idle();
    const web = await engine.create(specFor('web'));
    engine.print(web.id, 'found by resync');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeTimer = collector.following();

    clock.advance(2000);
    const stored = await eventually('the resynced lines', async () => {
      const lines = await store.query({ service: 'web', instance: web.id, limit: 10 });
      return lines.length === 2 ? lines : undefined;
    });
    await collector.stop();

    assert.deepEqual(beforeTimer, []);
    assert.equal(stored.at(-1)!.text, 'found by resync');
  });

  it('resumes after a restart with nothing stored twice or lost, even within one millisecond', async () => {
    const { engine, clock, dir, store, collector } = await harness({ now: () => t0 + 42 });
    collector.start();
    const web = await engine.create(specFor('web'));
    engine.print(web.id, 'same');
    engine.print(web.id, 'same');
    await eventually('three lines', async () =>
      (await store.query({ service: 'web', limit: 10 })).length === 3 ? true : undefined,
    );
    await collector.stop();
    await store.close();

    engine.print(web.id, 'same');
    engine.print(web.id, 'while herd was down');
    const reopened = await SegmentLogStore.open({ dir, clock });
    const restarted = new LogCollector({ engine, store: reopened, clock });
    restarted.start();
    const stored = await eventually('five lines', async () => {
      const lines = await reopened.query({ service: 'web', limit: 10 });
      return lines.length >= 5 ? lines : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const settled = await reopened.query({ service: 'web', limit: 10 });
    await restarted.stop();

    assert.deepEqual(texts(settled), [
      `started web ${digest}`,
      'same',
      'same',
      'same',
      'while herd was down',
    ]);
    assert.equal(stored.length, 5);
  });
});

describe('ResumeFilter', () => {
  it('skips lines before the resume point and each stored line at it exactly once', () => {
    const filter = new ResumeFilter({ time: 10, atTime: ['stdout\nx'] });

    const skipped = [
      { stream: 'stdout', time: 9, text: 'old' },
      { stream: 'stdout', time: 10, text: 'x' },
      { stream: 'stdout', time: 10, text: 'x' },
      { stream: 'stderr', time: 10, text: 'x' },
      { stream: 'stdout', time: 11, text: 'new' },
    ].map((l) => filter.alreadyStored(l as { stream: 'stdout' | 'stderr'; time: number; text: string }));

    assert.deepEqual(skipped, [true, true, false, false, false]);
  });
});
