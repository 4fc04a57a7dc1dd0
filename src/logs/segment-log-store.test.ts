import assert from 'node:assert/strict';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeRecord } from './log-record.js';
import { FillableWriter, line, ManualClock, RecordingLogger, t0, tempLogsDir } from './logs.test-support.js';
import { SegmentLogStore } from './segment-log-store.js';
import type { StoredLogEntry } from './types.js';

const texts = (entries: StoredLogEntry[]) => entries.map((e) => e.text);

describe('SegmentLogStore', () => {
  it('answers a service’s newest lines, oldest first, up to the limit', async () => {
    const store = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });
    store.write([
      line({ text: 'one', time: t0 + 1 }),
      line({ text: 'two', time: t0 + 2 }),
      line({ text: 'other service', service: 'db', time: t0 + 3 }),
      line({ text: 'three', time: t0 + 4 }),
    ]);

    const all = await store.query({ service: 'web', limit: 100 });
    const tail = await store.query({ service: 'web', limit: 2 });

    assert.deepEqual(texts(all), ['one', 'two', 'three']);
    assert.deepEqual(texts(tail), ['two', 'three']);
    assert.deepEqual(
      { service: all[0]!.service, instance: all[0]!.instance, revision: all[0]!.revision },
      { service: 'web', instance: 'inst-a', revision: 'r1' },
    );
  });

  it('filters by instance id prefix, since and grep', async () => {
    const store = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });
    store.write([
      line({ text: 'GET / 200', instance: 'aaa111', time: t0 + 1 }),
      line({ text: 'GET /x 404', instance: 'aaa111', time: t0 + 2 }),
      line({ text: 'GET / 200', instance: 'bbb222', time: t0 + 3 }),
      line({ text: 'GET /y 404', instance: 'aaa111', time: t0 + 4, stream: 'stderr' }),
    ]);

    const byInstance = await store.query({ service: 'web', instance: 'aaa', limit: 10 });
    const since = await store.query({ service: 'web', since: t0 + 3, limit: 10 });
    const grep = await store.query({ service: 'web', grep: / 404$/, instance: 'aaa111', limit: 10 });

    assert.deepEqual(texts(byInstance), ['GET / 200', 'GET /x 404', 'GET /y 404']);
    assert.deepEqual(texts(since), ['GET / 200', 'GET /y 404']);
    assert.deepEqual(
      grep.map((e) => [e.text, e.stream]),
      [
        ['GET /x 404', 'stdout'],
        ['GET /y 404', 'stderr'],
      ],
    );
  });

  it('keeps lines, seq and resume points across a reopen, cutting a torn last line', async () => {
    const dir = await tempLogsDir();
    const first = await SegmentLogStore.open({ dir, clock: new ManualClock() });
    first.write([line({ text: 'a', time: t0 + 5 }), line({ text: 'b', time: t0 + 5 })]);
    await first.close();
    const [segment] = (await readdir(join(dir, 'web'))).filter((n) => n.endsWith('.ndjson'));
    await appendFile(join(dir, 'web', segment!), '{"n":3,"t":17');

    const second = await SegmentLogStore.open({ dir, clock: new ManualClock() });
    second.write([line({ text: 'c', time: t0 + 6 })]);
    const stored = await second.query({ service: 'web', limit: 10 });

    assert.deepEqual(texts(stored), ['a', 'b', 'c']);
    assert.deepEqual(
      stored.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.deepEqual(second.resumePoint('inst-a'), { time: t0 + 6, atTime: ['stdout\nc'] });
    const fileLines = (await readFile(join(dir, 'web', segment!), 'utf8')).trimEnd().split('\n');
    assert.ok(fileLines.every((text) => decodeRecord('web', text)));
  });

  it('remembers every line stored at the newest time of an instance', async () => {
    const store = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });

    store.write([
      line({ text: 'early', time: t0 }),
      line({ text: 'x', time: t0 + 9 }),
      line({ text: 'x', time: t0 + 9, stream: 'stderr' }),
    ]);

    assert.deepEqual(store.resumePoint('inst-a'), { time: t0 + 9, atTime: ['stdout\nx', 'stderr\nx'] });
    assert.equal(store.resumePoint('inst-b'), undefined);
  });

  it('deletes the oldest segments once the store is over its size limit', async () => {
    const clock = new ManualClock();
    const store = await SegmentLogStore.open({
      dir: await tempLogsDir(),
      clock,
      maxBytes: 4096,
      segmentBytes: 1024,
    });
    const text = 'x'.repeat(80);

    for (let i = 0; i < 200; i++) {
      store.write([line({ text: `${i} ${text}`, time: t0 + i })]);
      if (i % 5 === 4) await store.flush();
    }
    await store.flush();
    await store.enforceRetention();
    const left = await store.query({ service: 'web', limit: 1000 });

    assert.ok(store.stats().bytes <= 4096 + 1024, `${store.stats().bytes} bytes kept`);
    assert.ok(left.length > 10 && left.length < 200, `${left.length} lines kept`);
    assert.equal(left.at(-1)!.text, `199 ${text}`);
    assert.equal(left[0]!.text.split(' ')[0], String(200 - left.length));
  });

  it('deletes segments whose lines are all older than the age limit', async () => {
    const clock = new ManualClock();
    const dir = await tempLogsDir();
    const store = await SegmentLogStore.open({ dir, clock, maxAgeMs: 60_000, segmentBytes: 64 });
    store.write([line({ text: 'old', time: t0 - 120_000 })]);
    await store.flush();
    store.write([line({ text: 'recent', time: t0 - 1000 })]);
    await store.flush();

    await store.enforceRetention();
    clock.advance(60_000);
    await store.enforceRetention();
    const afterRecentAged = await store.query({ service: 'web', limit: 10 });

    assert.deepEqual(afterRecentAged, []);
    assert.equal(store.stats().segments, 0);
    assert.deepEqual(await readdir(join(dir, 'web')), []);
  });

  it('keeps lines younger than the age limit', async () => {
    const clock = new ManualClock();
    const store = await SegmentLogStore.open({
      dir: await tempLogsDir(),
      clock,
      maxAgeMs: 60_000,
      segmentBytes: 64,
    });
    store.write([line({ text: 'old', time: t0 - 120_000 })]);
    await store.flush();
    store.write([line({ text: 'recent', time: t0 - 1000 })]);
    await store.flush();

    await store.enforceRetention();

    assert.deepEqual(texts(await store.query({ service: 'web', limit: 10 })), ['recent']);
  });

  it('reports a full disk once, drops what it cannot write, and recovers without torn lines', async () => {
    const dir = await tempLogsDir();
    const writer = new FillableWriter();
    const log = new RecordingLogger();
    const clock = new ManualClock();
    const store = await SegmentLogStore.open({ dir, clock, writer, log });
    store.write([line({ text: 'before', time: t0 })]);
    await store.flush();

    writer.full = true;
    store.write([line({ text: 'lost 1', time: t0 + 1 })]);
    await store.flush();
    store.write([line({ text: 'lost 2', time: t0 + 2 }), line({ text: 'lost 3', time: t0 + 3 })]);
    const duringOutage = await store.query({ service: 'web', limit: 10 });
    const health = store.stats().health;
    writer.full = false;
    store.write([line({ text: 'after', time: t0 + 4 })]);
    const afterOutage = await store.query({ service: 'web', limit: 10 });

    assert.deepEqual(texts(duringOutage), ['before']);
    assert.equal(health.kind, 'write-failed');
    assert.ok(health.kind === 'write-failed' && health.code === 'ENOSPC' && health.droppedLines === 3);
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 1);
    assert.match(log.lines.find((l) => l.level === 'warn')!.message, /cannot write/);
    assert.deepEqual(store.stats().health, { kind: 'ok' });
    assert.deepEqual(texts(afterOutage), ['before', 'after']);
    const [segment] = (await readdir(join(dir, 'web'))).filter((n) => n.endsWith('.ndjson'));
    const fileLines = (await readFile(join(dir, 'web', segment!), 'utf8')).trimEnd().split('\n');
    assert.deepEqual(
      fileLines.map((text) => decodeRecord('web', text)?.text),
      ['before', 'after'],
    );
  });

  it('follows: stored lines, then new ones, each once', async () => {
    const store = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });
    store.write([line({ text: 'stored', time: t0 }), line({ text: 'skip me', time: t0 + 1 })]);
    const abort = new AbortController();
    const seen: string[] = [];

    const reading = (async () => {
      for await (const entry of store.follow({
        service: 'web',
        grep: /^[^s]|stored/,
        limit: 10,
        signal: abort.signal,
      })) {
        seen.push(entry.text);
        if (seen.length === 3) abort.abort();
      }
    })();
    store.write([line({ text: 'live 1', time: t0 + 2 }), line({ text: 'skip too', time: t0 + 3 })]);
    store.write([
      line({ text: 'other', service: 'db', time: t0 + 4 }),
      line({ text: 'live 2', time: t0 + 5 }),
    ]);
    await reading;

    assert.deepEqual(seen, ['stored', 'live 1', 'live 2']);
  });

  it('refuses a limit below 1 with QUERY_INVALID', async () => {
    const store = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });

    await assert.rejects(store.query({ service: 'web', limit: 0 }), { code: 'QUERY_INVALID' });
  });
});
