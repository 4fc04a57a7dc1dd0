import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type RequestListener,
  request,
  type Server,
} from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { HerdError } from '../herd-error.js';
import { type BackendAddress, FrontDoor, FrontDoorError, FrontDoors } from './front-door.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

interface Backend {
  name: string;
  address: BackendAddress;
  server: Server;
  hits: number;
  stop(): Promise<void>;
}

/** A real HTTP server on an ephemeral loopback port that answers with its own name. */
async function startBackend(name: string, handler?: RequestListener): Promise<Backend> {
  const backend: Backend = {
    name,
    address: { host: '127.0.0.1', port: 0 },
    server: createServer((req, res) => {
      backend.hits++;
      if (handler) return handler(req, res);
      req.resume();
      res.setHeader('x-backend', name);
      res.end(name);
    }),
    hits: 0,
    async stop() {
      const closed = new Promise((resolve) => backend.server.close(resolve));
      backend.server.closeAllConnections();
      await closed;
    },
  };
  await new Promise<void>((resolve) => backend.server.listen(0, '127.0.0.1', resolve));
  backend.address.port = (backend.server.address() as AddressInfo).port;
  cleanup.push(() => backend.server.listening && backend.stop());
  return backend;
}

async function openDoor(service = 'hello'): Promise<FrontDoor> {
  const door = await FrontDoor.open(service, { port: 0 });
  cleanup.push(() => door.close());
  return door;
}

/** A port nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const clientAgent = new Agent({ keepAlive: true, maxSockets: 64 });
cleanup.push(() => clientAgent.destroy());

function send(
  url: string,
  options: { method?: string; path?: string; headers?: OutgoingHttpHeaders; body?: Buffer | string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(options.path ?? '/', url),
      { method: options.method ?? 'GET', headers: options.headers, agent: clientAgent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('FrontDoor', () => {
  it('spreads requests evenly over the ready backends', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((name) => startBackend(name)));
    const door = await openDoor();
    door.setBackends(backends.map((b) => b.address));

    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await send(door.url));

    assert.deepEqual(
      answers.map((a) => a.status),
      Array(30).fill(200),
    );
    assert.deepEqual(
      backends.map((b) => b.hits),
      [10, 10, 10],
    );
  });

  it('reports the port it bound and a url on 127.0.0.1', async () => {
    const door = await openDoor();

    assert.notEqual(door.port, 0);
    assert.equal(door.url, `http://127.0.0.1:${door.port}`);
  });

  it('answers 503 with retry-after while no backend is ready', async () => {
    const backend = await startBackend('a');
    const door = await openDoor();

    const before = await send(door.url);
    door.setBackends([backend.address]);
    const during = await send(door.url);
    door.setBackends([]);
    const afterwards = await send(door.url);

    assert.equal(before.status, 503);
    assert.equal(before.headers['retry-after'], '1');
    assert.match(before.body, /hello/);
    assert.equal(during.status, 200);
    assert.equal(afterwards.status, 503);
  });

  it('passes method, path, headers, status and a streamed body both ways, adding x-forwarded-for', async () => {
    let seen: { method?: string; url?: string; headers: IncomingHttpHeaders; sha256: string } | undefined;
    const backend = await startBackend('a', (req, res) => {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, sha256: hash.digest('hex') };
        res.writeHead(201, { 'set-cookie': ['a=1', 'b=2'], 'x-app': 'yes' });
        res.end('x'.repeat(300_000));
      });
    });
    const door = await openDoor();
    door.setBackends([backend.address]);
    const body = Buffer.alloc(1_000_000, 7);

    const answer = await send(door.url, {
      method: 'PUT',
      path: '/items/42?full=1',
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'x-request-id': 'r1',
        'content-type': 'application/x-test',
      },
      body,
    });

    assert.equal(answer.status, 201);
    assert.equal(answer.body.length, 300_000);
    assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(answer.headers['x-app'], 'yes');
    assert.equal(seen?.method, 'PUT');
    assert.equal(seen?.url, '/items/42?full=1');
    assert.equal(seen?.sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(seen?.headers['x-request-id'], 'r1');
    assert.equal(seen?.headers['content-type'], 'application/x-test');
    assert.equal(seen?.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen?.headers.host, `127.0.0.1:${door.port}`);
  });

  it('drops hop-by-hop headers, including those named in Connection, in both directions', async () => {
    let received: IncomingHttpHeaders = {};
    const backend = await startBackend('a', (req, res) => {
      received = req.headers;
      res.setHeader('connection', 'x-backend-hop');
      res.setHeader('x-backend-hop', 'secret');
      res.setHeader('x-kept', 'yes');
      res.end('ok');
    });
    const door = await openDoor();
    door.setBackends([backend.address]);

    const answer = await send(door.url, {
      headers: {
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=30',
        'proxy-authorization': 'Basic c2VjcmV0',
        te: 'trailers',
        'x-end-to-end': 'kept',
      },
    });

    assert.equal(answer.status, 200);
    assert.equal(received['x-client-hop'], undefined);
    assert.equal(received['proxy-authorization'], undefined);
    assert.equal(received.te, undefined);
    assert.notEqual(received['keep-alive'], 'timeout=30');
    assert.equal(received['x-end-to-end'], 'kept');
    assert.equal(answer.headers['x-backend-hop'], undefined);
    assert.equal(answer.headers['x-kept'], 'yes');
  });

  it('retries a GET on another backend when its backend refuses the connection', async () => {
    const live = await startBackend('live');
    const door = await openDoor();
    door.setBackends([{ host: '127.0.0.1', port: await freePort() }, live.address]);

    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await send(door.url));

    assert.deepEqual(
      answers.map((a) => a.status),
      Array(10).fill(200),
    );
    assert.equal(live.hits, 10);
  });

  it('does not replay a POST whose backend refused the connection: it answers 502', async () => {
    const door = await openDoor();
    door.setBackends([{ host: '127.0.0.1', port: await freePort() }]);

    const answer = await send(door.url, { method: 'POST', body: 'order=1' });

    assert.equal(answer.status, 502);
    assert.match(answer.body, /ECONNREFUSED/);
  });

  it('retries a GET when its backend resets the connection before answering', async () => {
    const resetter = await startBackend('resetter', (req) => req.socket.destroy());
    const live = await startBackend('live');
    const door = await openDoor();
    door.setBackends([resetter.address, live.address]);

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await send(door.url));

    assert.deepEqual(
      answers.map((a) => a.body),
      Array(6).fill('live'),
    );
    assert.ok(resetter.hits >= 1, 'the resetting backend was tried');
  });

  it('prefers the backend with fewer requests in flight', async () => {
    const release = deferred();
    const arrived = deferred();
    const busy = await startBackend('busy', (req, res) => {
      req.resume();
      if (req.url !== '/slow') return res.end('busy');
      arrived.resolve();
      void release.promise.then(() => res.end('slow finished'));
    });
    const idle = await startBackend('idle');
    const door = await openDoor();
    door.setBackends([busy.address]);
    const slowAnswer = send(door.url, { path: '/slow' });
    await arrived.promise;
    door.setBackends([busy.address, idle.address]);

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await send(door.url));
    release.resolve();
    await slowAnswer;

    assert.deepEqual(
      answers.map((a) => a.body),
      Array(6).fill('idle'),
    );
  });

  it('lets an in-flight request finish on a drained backend while new requests go elsewhere', async () => {
    const releaseSlow = deferred();
    const arrived = deferred();
    const slow = await startBackend('slow', (req, res) => {
      req.resume();
      if (req.url !== '/slow') return res.end('slow');
      arrived.resolve();
      void releaseSlow.promise.then(() => res.end('slow finished'));
    });
    // The other backend holds its answers, so by in-flight counts alone the slow one would look idler.
    let held: (() => void)[] = [];
    const other = await startBackend('other', (req, res) => {
      req.resume();
      held.push(() => res.end('other'));
    });
    const door = await openDoor();
    door.setBackends([slow.address]);
    const slowAnswer = send(door.url, { path: '/slow' });
    await arrived.promise;
    door.setBackends([slow.address, other.address]);
    const concurrentBatch = async () => {
      let settled = 0;
      const batch = Array.from({ length: 5 }, () =>
        send(door.url).finally(() => {
          settled++;
        }),
      );
      await waitFor(() => held.length + settled === 5);
      for (const answer of held) answer();
      held = [];
      return Promise.all(batch);
    };

    let drained = false;
    const draining = door.drain(slow.address, { timeoutMs: 60_000 }).then(() => {
      drained = true;
    });
    const firstBatch = await concurrentBatch();
    // A resync that still lists the leaving instance must not put it back into rotation.
    door.setBackends([slow.address, other.address]);
    const secondBatch = await concurrentBatch();
    const drainedEarly = drained;
    releaseSlow.resolve();
    const finished = await slowAnswer;
    await draining;

    assert.equal(drainedEarly, false);
    assert.deepEqual(
      [...firstBatch, ...secondBatch].map((a) => a.body),
      Array(10).fill('other'),
    );
    assert.equal(finished.status, 200);
    assert.equal(finished.body, 'slow finished');
    assert.equal(slow.hits, 1);
    assert.equal(drained, true);
  });

  it('stops waiting for a drain after timeoutMs', async () => {
    const release = deferred();
    const arrived = deferred();
    const stuck = await startBackend('stuck', (req, res) => {
      req.resume();
      if (stuck.hits > 1) return res.end('stuck');
      arrived.resolve();
      void release.promise.then(() => res.end('late'));
    });
    const door = await openDoor();
    door.setBackends([stuck.address]);
    const stuckAnswer = send(door.url);
    await arrived.promise;

    await door.drain(stuck.address, { timeoutMs: 50 });
    const inFlightAfterDrain = door.inFlight()[`127.0.0.1:${stuck.address.port}`];
    const whileDrained = await send(door.url);
    release.resolve();
    await stuckAnswer;

    assert.equal(inFlightAfterDrain, 1);
    assert.equal(whileDrained.status, 503);
  });

  it('fails no request while every backend is replaced under steady concurrent load', async () => {
    const total = 2_000;
    const concurrency = 20;
    const old = await Promise.all(['old-1', 'old-2'].map((name) => startBackend(name)));
    const door = await openDoor();
    door.setBackends(old.map((b) => b.address));
    let started = 0;
    let completed = 0;
    const failures: string[] = [];
    const servedBy = new Map<string, number>();
    const worker = async () => {
      while (started < total) {
        started++;
        try {
          const answer = await send(door.url);
          if (answer.status !== 200) failures.push(`status ${answer.status}`);
          servedBy.set(answer.body, (servedBy.get(answer.body) ?? 0) + 1);
        } catch (error) {
          failures.push(String(error));
        }
        completed++;
      }
    };

    const load = Promise.all(Array.from({ length: concurrency }, worker));
    await waitFor(() => completed >= total / 4);
    // A rolling replacement, one instance at a time: start new, mark it ready, drain old, stop old.
    const replacements: Backend[] = [];
    for (const [i, leaving] of old.entries()) {
      const fresh = await startBackend(`new-${i + 1}`);
      replacements.push(fresh);
      door.setBackends([...old.slice(i).map((b) => b.address), ...replacements.map((b) => b.address)]);
      await door.drain(leaving.address, { timeoutMs: 30_000 });
      await leaving.stop();
      door.setBackends([...old.slice(i + 1).map((b) => b.address), ...replacements.map((b) => b.address)]);
    }
    const completedAtSwap = completed;
    await load;

    assert.deepEqual(failures, []);
    assert.equal(completed, total);
    assert.ok(completedAtSwap < total, 'the swap happened while requests were still running');
    assert.ok((servedBy.get('new-1') ?? 0) + (servedBy.get('new-2') ?? 0) > 0);
    assert.ok((servedBy.get('old-1') ?? 0) > 0);
  });

  it('takes a drained address back once a setBackends has left it out, as a new instance', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const door = await openDoor();
    door.setBackends([a.address, b.address]);

    await door.drain(a.address, { timeoutMs: 1_000 });
    door.setBackends([b.address]);
    door.setBackends([a.address, b.address]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(door.url));

    assert.deepEqual(answers.map((x) => x.body).sort(), ['a', 'a', 'b', 'b']);
  });

  it('keeps a drained address out of rotation while a stale setBackends still lists it, and says so in serving()', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const door = await openDoor();
    door.setBackends([a.address, b.address]);

    void door.drain(a.address, { timeoutMs: 1_000 });
    door.setBackends([a.address, b.address]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(door.url));

    assert.deepEqual(
      door.serving().map((one) => one.port),
      [b.address.port],
    );
    assert.deepEqual(
      answers.map((x) => x.body),
      ['b', 'b', 'b', 'b'],
    );
  });

  it('counts the requests sent to each backend and the time-integral of its in-flight requests', async () => {
    const release = deferred();
    const arrived = deferred();
    const slow = await startBackend('slow', (req, res) => {
      req.resume();
      if (req.url !== '/slow') return res.end('slow');
      arrived.resolve();
      void release.promise.then(() => res.end('slow finished'));
    });
    const quick = await startBackend('quick');
    const door = await openDoor();
    door.setBackends([slow.address]);
    const before = door.load();
    const held = send(door.url, { path: '/slow' });
    await arrived.promise;
    door.setBackends([slow.address, quick.address]);
    for (let i = 0; i < 3; i++) await send(door.url);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = door.load();
    release.resolve();
    await held;
    const after = door.load();

    const of = (load: ReturnType<FrontDoor['load']>, backend: Backend) =>
      load.backends.find((one) => one.port === backend.address.port);
    assert.deepEqual(
      before.backends.map((one) => one.requests),
      [0],
    );
    assert.equal(of(during, slow)?.requests, 1);
    assert.equal(of(during, slow)?.inFlight, 1);
    assert.equal(of(during, quick)?.requests, 3, 'the least busy backend took the quick ones');
    assert.equal(of(after, slow)?.inFlight, 0);
    // One request in flight on `slow` from before the 200 ms wait to its end: at least 200 request-ms.
    const slowMs = (of(after, slow)?.inFlightMs ?? 0) - (of(before, slow)?.inFlightMs ?? 0);
    assert.ok(
      slowMs >= 200 && slowMs <= after.at - before.at,
      `slow was busy ${slowMs} ms of ${after.at - before.at}`,
    );
    assert.ok(after.at >= during.at && during.at >= before.at);
  });

  it('refuses a port already in use with PORT_TAKEN, naming the port and the service', async () => {
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => taken.close());
    const { port } = taken.address() as AddressInfo;

    const opening = FrontDoor.open('hello', { port });

    await assert.rejects(opening, (error: unknown) => {
      assert.ok(error instanceof FrontDoorError);
      assert.ok(error instanceof HerdError);
      assert.equal(error.code, 'PORT_TAKEN');
      assert.match(error.message, new RegExp(`port ${port}\\b`));
      assert.match(error.message, /service hello/);
      return true;
    });
  });
});

describe('FrontDoors', () => {
  it('routes setBackends and drain to the service’s door, keeping backends set before it opened', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const doors = new FrontDoors({ drainTimeoutMs: 30_000 });
    cleanup.push(() => doors.closeAll());

    doors.setBackends('hello', [a.address, b.address]);
    const door = await doors.open('hello', { port: 0 });
    await doors.drain('hello', a.address);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(door.url));
    doors.setBackends('other-service', [a.address]);

    assert.equal(doors.get('hello'), door);
    assert.deepEqual(
      answers.map((x) => x.body),
      ['b', 'b', 'b', 'b'],
    );
    assert.equal(a.hits, 0);
  });

  it('opens one door for two concurrent opens of the same service', async () => {
    const doors = new FrontDoors();
    cleanup.push(() => doors.closeAll());

    const [first, second] = await Promise.all([
      doors.open('hello', { port: 0 }),
      doors.open('hello', { port: 0 }),
    ]);

    assert.equal(first, second);
  });

  it('stops waiting for a drain after the timeoutSeconds the controller gives', {
    timeout: 20_000,
  }, async () => {
    const release = deferred();
    const arrived = deferred();
    const stuck = await startBackend('stuck', (req, res) => {
      req.resume();
      arrived.resolve();
      void release.promise.then(() => res.end('late'));
    });
    const doors = new FrontDoors({ drainTimeoutMs: 600_000 });
    cleanup.push(() => doors.closeAll());
    const door = await doors.open('hello', { port: 0 });
    doors.setBackends('hello', [stuck.address]);
    const stuckAnswer = send(door.url);
    await arrived.promise;

    await doors.drain('hello', stuck.address, { timeoutSeconds: 0.05 });
    const inFlight = door.inFlight()[`127.0.0.1:${stuck.address.port}`];
    release.resolve();
    await stuckAnswer;

    assert.equal(inFlight, 1);
  });
});
