import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../common/index.js';
import { line, ManualClock, t0, tempLogsDir } from '../../logs/logs.test-support.js';
import { SegmentLogStore } from '../../logs/segment-log-store.js';
import { LayoutStore } from '../../oci/layout-store.js';
import { createApp } from '../app.js';
import type { Connection } from '../authenticate.js';
import type { ControlPlane } from '../control-plane.js';
import type { LogLineView, LogsAnswer } from './log-api.js';

/** As the local CLI calls, over the control plane's socket: no token needed. */
const local = { connection: { transport: 'unix', user: 'alice' } satisfies Connection };

async function appWithLines() {
  const logs = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });
  logs.write([
    line({ text: 'GET / 200', instance: 'aaaa1111', time: t0 }),
    line({ text: 'GET /gone 404', instance: 'aaaa1111', time: t0 + 1000 }),
    line({ text: 'GET / 200', instance: 'bbbb2222', time: t0 + 2000 }),
  ]);
  // The logs route needs only the store: no engine, no fleets.
  const plane = { logs } as unknown as ControlPlane;
  const store = new LayoutStore(await tempLogsDir());
  return { app: createApp({ store, fleetApi: { plane, log: silentLogger } }), logs };
}

describe('GET /api/v1/fleets/:service/logs', () => {
  it('answers from the log store with instance, since, grep and tail', async () => {
    const { app } = await appWithLines();
    const since = new Date(t0 + 500).toISOString();

    const response = await app.request(
      `/api/v1/fleets/web/logs?instance=aaaa&since=${since}&grep=404&tail=5`,
      {},
      local,
    );
    const body = (await response.json()) as LogsAnswer;
    const tail = (await (
      await app.request('/api/v1/fleets/web/logs?tail=1', {}, local)
    ).json()) as LogsAnswer;

    assert.equal(response.status, 200);
    assert.deepEqual(
      body.lines.map((l) => [l.instance, l.text, l.time]),
      [['aaaa1111', 'GET /gone 404', new Date(t0 + 1000).toISOString()]],
    );
    assert.equal(body.storage.health.kind, 'ok');
    assert.deepEqual(
      tail.lines.map((l) => l.instance),
      ['bbbb2222'],
    );
  });

  it('refuses a grep that is not a regular expression with 400 GREP_INVALID', async () => {
    const { app } = await appWithLines();

    const response = await app.request('/api/v1/fleets/web/logs?grep=(&follow=1', {}, local);

    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'GREP_INVALID');
  });

  it('follows as NDJSON: stored lines, then new ones', async () => {
    const { app, logs } = await appWithLines();
    const abort = new AbortController();

    const response = await app.request(
      new Request('http://herd/api/v1/fleets/web/logs?follow=1&instance=bbbb', { signal: abort.signal }),
      {},
      local,
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readLines = async (count: number) => {
      while (text.split('\n').length <= count) text += (await reader.read()).value ?? '';
      return text
        .split('\n')
        .slice(0, count)
        .map((l) => JSON.parse(l) as LogLineView);
    };
    const stored = await readLines(1);
    logs.write([line({ text: 'live', instance: 'bbbb2222', time: t0 + 3000 })]);
    const both = await readLines(2);
    await reader.cancel();
    abort.abort();

    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    assert.deepEqual(
      stored.map((l) => l.text),
      ['GET / 200'],
    );
    assert.deepEqual(
      both.map((l) => l.text),
      ['GET / 200', 'live'],
    );
  });
});
