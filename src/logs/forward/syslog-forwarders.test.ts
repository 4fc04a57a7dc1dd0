import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { backgroundClock, type Clock } from '../../common/index.js';
import { line, RecordingLogger, t0 } from '../logs.test-support.js';
import { datagramOf, formatSyslogMessage, frameOctetCounting } from './syslog-message.js';
import { TcpSyslogForwarder } from './tcp-syslog-forwarder.js';
import { UdpSyslogForwarder } from './udp-syslog-forwarder.js';

/** RFC 5424 §6, as a receiver reads it: header fields, structured data, then the message. */
const rfc5424 =
  /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[herd@32473 service="((?:[^"\\]|\\.)*)" instance="((?:[^"\\]|\\.)*)" revision="((?:[^"\\]|\\.)*)"\] \u{feff}(.*)$/su;

/** Splits an RFC 6587 octet-counted stream into messages, refusing anything else. */
function parseOctetCounted(stream: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at < stream.length) {
    const space = stream.indexOf(0x20, at);
    const length = Number(stream.toString('ascii', at, space));
    assert.ok(space > at && Number.isInteger(length) && length > 0, `bad frame header at byte ${at}`);
    messages.push(stream.toString('utf8', space + 1, space + 1 + length));
    at = space + 1 + length;
  }
  assert.equal(at, stream.length, 'the stream ends in the middle of a frame');
  return messages;
}

/** A receiver on `port`, or on a free one. */
async function tcpReceiver(port = 0): Promise<{ server: Server; port: number; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const server = createServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk)));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, port: address.port, received: () => Buffer.concat(chunks) };
}

/** A port nothing listens on now: a receiver that is away. */
async function closedPort(): Promise<number> {
  const probe = await tcpReceiver();
  await new Promise((resolve) => probe.server.close(resolve));
  return probe.port;
}

async function eventually<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('syslog messages', () => {
  it('formats RFC 5424 with severity by stream, escaped structured data and the text as is', () => {
    const message = formatSyslogMessage(
      line({ text: 'boom ] "x"', stream: 'stderr', revision: 'r"1]', time: t0 }),
      { hostname: 'host one' },
    );

    const match = rfc5424.exec(message);

    assert.ok(match, message);
    assert.equal(match[1], String(1 * 8 + 3));
    assert.equal(match[2], '2025-01-01T00:00:00.000Z');
    assert.deepEqual(match.slice(3, 7), ['host_one', 'web', 'inst-a', 'stderr']);
    assert.ok(message.includes('revision="r\\"1\\]"'));
    assert.equal(match[10], 'boom ] "x"');
  });

  it('frames by octets, not characters', () => {
    const frame = frameOctetCounting('héllo');

    assert.equal(frame.toString('utf8'), '6 héllo');
  });

  it('cuts an over-long datagram at a character boundary', () => {
    const datagram = datagramOf('ééé', 5);

    assert.equal(datagram.toString('utf8'), 'éé');
  });
});

describe('TcpSyslogForwarder', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('delivers lines as octet-counted RFC 5424 messages a real receiver parses', async () => {
    const receiver = await tcpReceiver();
    servers.push(receiver.server);
    const forwarder = new TcpSyslogForwarder({
      host: '127.0.0.1',
      port: receiver.port,
      log: new RecordingLogger(),
    });
    const multiline = 'first\nsecond line of the same write';

    forwarder.write([line({ text: 'GET / 200', time: t0 }), line({ text: multiline, time: t0 + 1 })]);
    forwarder.write([line({ text: 'späť', time: t0 + 2, stream: 'stderr' })]);
    await forwarder.close();
    const messages = await eventually(() => {
      const parsed = parseOctetCounted(receiver.received());
      return parsed.length === 3 ? parsed : undefined;
    });

    const parsed = messages.map((m) => rfc5424.exec(m));
    assert.ok(parsed.every(Boolean), messages.join('\n'));
    assert.deepEqual(
      parsed.map((m) => m![10]),
      ['GET / 200', multiline, 'späť'],
    );
    assert.deepEqual(
      parsed.map((m) => m![1]),
      ['14', '14', '11'],
    );
  });

  it('keeps lines while the receiver is away and sends them once it listens', async () => {
    const port = await closedPort();
    const log = new RecordingLogger();
    const forwarder = new TcpSyslogForwarder({ host: '127.0.0.1', port, log, retryMs: 50 });

    forwarder.write([line({ text: 'while away' })]);
    await eventually(() => (log.lines.some((l) => l.level === 'warn') ? true : undefined));
    const receiver = await tcpReceiver(port);
    servers.push(receiver.server);
    // The retry delay doubles from 50 ms on each failure, so on a loaded machine the retry that
    // finds the receiver may come seconds after it listens: a generous deadline, not a fast one.
    const messages = await eventually(() => {
      const parsed = parseOctetCounted(receiver.received());
      return parsed.length === 1 ? parsed : undefined;
    }, 30_000);
    await forwarder.close();

    assert.equal(rfc5424.exec(messages[0]!)?.[10], 'while away');
    assert.ok(log.lines.some((l) => l.message === 'syslog forwarding resumed'));
  });

  it('retries when its backoff timer fires a little before the wall clock says it is due', async () => {
    // Node's timers may fire a millisecond before Date.now() reaches their time. This clock's timers
    // always fire 5 ms early, so a retry that asks the clock whether it is due finds it is not.
    const earlyTimers: Clock = {
      now: () => Date.now(),
      setTimer: (ms, run) => backgroundClock.setTimer(Math.max(0, ms - 5), run),
    };
    const port = await closedPort();
    const log = new RecordingLogger();
    const forwarder = new TcpSyslogForwarder({
      host: '127.0.0.1',
      port,
      log,
      retryMs: 200,
      clock: earlyTimers,
    });

    forwarder.write([line({ text: 'queued' })]);
    await eventually(() => (log.lines.some((l) => l.level === 'warn') ? true : undefined));
    const receiver = await tcpReceiver(port);
    servers.push(receiver.server);
    const messages = await eventually(() => {
      const parsed = parseOctetCounted(receiver.received());
      return parsed.length === 1 ? parsed : undefined;
    }, 10_000);
    await forwarder.close();

    assert.equal(rfc5424.exec(messages[0]!)?.[10], 'queued');
  });
});

describe('UdpSyslogForwarder', () => {
  it('sends one RFC 5424 message per datagram to a real receiver', async () => {
    const socket = createSocket('udp4');
    const received: string[] = [];
    socket.on('message', (message) => received.push(message.toString('utf8')));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const forwarder = new UdpSyslogForwarder({
      host: '127.0.0.1',
      port: socket.address().port,
      log: new RecordingLogger(),
    });

    forwarder.write([line({ text: 'one' }), line({ text: 'two', stream: 'stderr' })]);
    await eventually(() => (received.length === 2 ? true : undefined));
    await forwarder.close();
    socket.close();

    const parsed = received.map((m) => rfc5424.exec(m)).sort((a, b) => a![10]!.localeCompare(b![10]!));
    assert.deepEqual(
      parsed.map((m) => [m?.[1], m?.[8], m?.[10]]),
      [
        ['14', 'inst-a', 'one'],
        ['11', 'inst-a', 'two'],
      ],
    );
  });
});
