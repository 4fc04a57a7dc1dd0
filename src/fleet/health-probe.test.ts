import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { after, describe, it } from 'node:test';
import type { HealthCheck } from '../specfile/types.js';
import { HttpTcpProber } from './health-probe.js';

const servers: { close(): unknown; closeAllConnections?(): void }[] = [];
after(() => {
  for (const server of servers) {
    server.closeAllConnections?.();
    server.close();
  }
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function httpBackend(handler: RequestListener): Promise<{ port: number; server: Server }> {
  const server = createServer(handler);
  return { port: await listen(server), server };
}

/** A port nothing listens on: bound once, then released. */
async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function httpCheck(path: string, timeoutSeconds = 5): HealthCheck {
  return { kind: 'http', path, port: 8080, intervalSeconds: 1, timeoutSeconds, retries: 3 };
}

const tcpCheck: HealthCheck = { kind: 'tcp', port: 8080, intervalSeconds: 1, timeoutSeconds: 5, retries: 3 };
const prober = new HttpTcpProber();

describe('HttpTcpProber over http', () => {
  it('calls a 2xx or 3xx answer to GET on the check path healthy', async () => {
    const seen: string[] = [];
    const { port } = await httpBackend((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(req.url === '/moved' ? 302 : 204, { location: '/healthz' }).end();
    });

    const ok = await prober.check({ host: '127.0.0.1', port }, httpCheck('/healthz'));
    const redirected = await prober.check({ host: '127.0.0.1', port }, httpCheck('/moved'));

    assert.equal(ok, true);
    assert.equal(redirected, true);
    assert.deepEqual(seen, ['GET /healthz', 'GET /moved']);
  });

  it('calls a 4xx or 5xx answer unhealthy', async () => {
    const { port } = await httpBackend((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 503).end('no');
    });

    const missing = await prober.check({ host: '127.0.0.1', port }, httpCheck('/missing'));
    const failing = await prober.check({ host: '127.0.0.1', port }, httpCheck('/healthz'));

    assert.equal(missing, false);
    assert.equal(failing, false);
  });

  it('gives up after timeoutSeconds and closes the connection', async () => {
    let closed = 0;
    const { port } = await httpBackend((req) => {
      req.socket.on('close', () => closed++);
    });

    const healthy = await prober.check({ host: '127.0.0.1', port }, httpCheck('/healthz', 0.2));

    assert.equal(healthy, false);
    await waitFor(() => closed === 1);
  });

  it('opens a new connection for every probe', async () => {
    const { port, server } = await httpBackend((_req, res) => {
      res.end('ok');
    });
    let connections = 0;
    server.on('connection', () => connections++);

    await prober.check({ host: '127.0.0.1', port }, httpCheck('/'));
    await prober.check({ host: '127.0.0.1', port }, httpCheck('/'));
    await prober.check({ host: '127.0.0.1', port }, httpCheck('/'));

    assert.equal(connections, 3);
  });

  it('returns false instead of throwing for a refused connection or an unusable path', async () => {
    const port = await freePort();

    const refused = await prober.check({ host: '127.0.0.1', port }, httpCheck('/healthz'));
    const badPath = await prober.check({ host: '127.0.0.1', port }, httpCheck('/health z'));
    const badHost = await prober.check({ host: 'no such host.invalid', port }, httpCheck('/'));

    assert.equal(refused, false);
    assert.equal(badPath, false);
    assert.equal(badHost, false);
  });
});

describe('HttpTcpProber over tcp', () => {
  it('calls an accepted connection healthy', async () => {
    const port = await listen(createTcpServer((socket) => socket.end()));

    const healthy = await prober.check({ host: '127.0.0.1', port }, tcpCheck);

    assert.equal(healthy, true);
  });

  it('calls a refused connection unhealthy', async () => {
    const port = await freePort();

    const healthy = await prober.check({ host: '127.0.0.1', port }, tcpCheck);

    assert.equal(healthy, false);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
