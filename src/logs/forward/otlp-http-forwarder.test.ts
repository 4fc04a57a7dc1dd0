import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { line, ManualClock, RecordingLogger, t0 } from '../logs.test-support.js';
import { OtlpHttpForwarder } from './otlp-http-forwarder.js';
import type { OtlpLogsRequest } from './otlp-logs.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: OtlpLogsRequest;
}

async function otlpReceiver(statuses: number[] = []) {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const status = statuses.shift() ?? 200;
    if (status === 200) {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpLogsRequest,
      });
    }
    response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, url: `http://127.0.0.1:${address.port}/v1/logs`, received };
}

describe('OtlpHttpForwarder', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('posts OTLP JSON logs a local HTTP server receives: resource, scope, records, attributes', async () => {
    const receiver = await otlpReceiver();
    servers.push(receiver.server);
    const clock = new ManualClock(t0 + 5000);
    const forwarder = new OtlpHttpForwarder({ url: receiver.url, clock, log: new RecordingLogger() });

    forwarder.write([
      line({ text: 'GET / 200', time: t0 + 1 }),
      line({ text: 'oops', time: t0 + 2, stream: 'stderr', instance: 'inst-b', revision: 'r2' }),
      line({ text: 'db up', service: 'db', time: t0 + 3 }),
    ]);
    await forwarder.close();

    assert.equal(receiver.received.length, 1);
    const [request] = receiver.received;
    assert.equal(request!.path, '/v1/logs');
    assert.equal(request!.contentType, 'application/json');
    const resources = request!.body.resourceLogs;
    assert.deepEqual(
      resources.map((r) => r.resource.attributes),
      [
        [{ key: 'service.name', value: { stringValue: 'web' } }],
        [{ key: 'service.name', value: { stringValue: 'db' } }],
      ],
    );
    const records = resources[0]!.scopeLogs[0]!.logRecords;
    assert.equal(resources[0]!.scopeLogs[0]!.scope.name, 'herd');
    assert.deepEqual(
      records.map((r) => [r.timeUnixNano, r.severityText, r.body.stringValue]),
      [
        [`${BigInt(t0 + 1) * 1_000_000n}`, 'INFO', 'GET / 200'],
        [`${BigInt(t0 + 2) * 1_000_000n}`, 'ERROR', 'oops'],
      ],
    );
    assert.deepEqual(records[1]!.attributes.slice(0, 3), [
      { key: 'service', value: { stringValue: 'web' } },
      { key: 'instance', value: { stringValue: 'inst-b' } },
      { key: 'revision', value: { stringValue: 'r2' } },
    ]);
  });

  it('retries a batch the endpoint refuses for now (503) and delivers it once', async () => {
    const receiver = await otlpReceiver([503]);
    servers.push(receiver.server);
    const clock = new ManualClock();
    const log = new RecordingLogger();
    const forwarder = new OtlpHttpForwarder({ url: receiver.url, clock, log, intervalMs: 100 });

    forwarder.write([line({ text: 'kept' })]);
    clock.advance(100);
    for (let i = 0; i < 50 && !log.lines.some((l) => l.level === 'warn'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    clock.advance(100);
    for (let i = 0; i < 50 && receiver.received.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await forwarder.close();

    assert.ok(log.lines.some((l) => l.message.startsWith('OTLP log forwarding failed')));
    assert.equal(receiver.received.length, 1);
    assert.equal(
      receiver.received[0]!.body.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body.stringValue,
      'kept',
    );
  });
});
