import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { DebianError } from './errors.js';
import { HttpFetcher, redirectRefusal } from './fetcher.js';

const servers: Server[] = [];
const netServers: NetServer[] = [];
after(() => {
  for (const server of netServers) server.close();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** A loopback mirror answering every request with `handler`. */
async function mirror(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Asserts that `promise` fails with `code` and a message matching `message`, in under `withinMs`. */
async function failsWith(
  promise: Promise<unknown>,
  expected: { code: string; message: RegExp; withinMs: number },
): Promise<void> {
  const started = performance.now();
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DebianError, String(error));
    assert.equal(error.code, expected.code, error.message);
    assert.match(error.message, expected.message);
    return true;
  });
  const took = performance.now() - started;
  assert.ok(took < expected.withinMs, `took ${Math.round(took)} ms, expected under ${expected.withinMs} ms`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on yet: taken from a server that is closed again. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('HttpFetcher', { timeout: 30_000 }, () => {
  it('tries again when a mirror refuses the connection, and reads the answer once it listens', async () => {
    const port = await freePort();
    let asked = 0;
    const server = createServer((_request, response) => {
      asked += 1;
      response.end('InRelease');
    });
    servers.push(server);
    setTimeout(() => server.listen(port, '127.0.0.1'), 50);

    const bytes = await new HttpFetcher().fetchBytes(`http://127.0.0.1:${port}/dists/test/InRelease`);

    assert.equal(bytes.toString(), 'InRelease');
    assert.equal(asked, 1);
  });

  it('fails naming the URL and the tries when nothing ever listens', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/dists/test/InRelease`;

    await assert.rejects(new HttpFetcher().fetchBytes(url), (error: unknown) => {
      assert.ok(error instanceof DebianError);
      assert.equal(error.code, 'FETCH_FAILED');
      assert.match(error.message, new RegExp(`could not fetch ${url} in 4 tries: .*ECONNREFUSED`));
      return true;
    });
  });

  it('never asks again after an answer, even an error status', async () => {
    let asked = 0;
    const server = createServer((_request, response) => {
      asked += 1;
      response.writeHead(503).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    await assert.rejects(new HttpFetcher().fetchBytes(`http://127.0.0.1:${port}/x`), /HTTP 503/);
    assert.equal(asked, 1);
  });

  it('gives up on a mirror that sends its headers and then nothing, naming the URL and the wait', async () => {
    const base = await mirror((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('Origin: Debian\n');
    });
    const url = `${base}/dists/stable/InRelease`;

    // The mirror runs in this process: on a loaded machine the timer may win before the headers are
    // read; what matters is that the wait ends, with the URL and the wait.
    await failsWith(new HttpFetcher({ stallTimeoutMs: 300 }).fetchBytes(url), {
      code: 'FETCH_TIMEOUT',
      message: new RegExp(
        `could not fetch ${url}: the mirror (sent nothing for 0.3 s \\(after 15 bytes\\)|gave no answer within 0.3 s)`,
      ),
      withinMs: 2000,
    });
  });

  it('gives up on a mirror that accepts the connection and never answers, and does not ask again', async () => {
    let asked = 0;
    const base = await mirror(() => {
      asked += 1;
    });

    await failsWith(new HttpFetcher({ stallTimeoutMs: 200 }).fetchBytes(`${base}/dists/stable/InRelease`), {
      code: 'FETCH_TIMEOUT',
      message: /the mirror gave no answer within 0.2 s/,
      withinMs: 2000,
    });
    assert.equal(asked, 1);
  });

  it('gives up on a mirror that drips its headers a byte at a time (slowloris), by the stall timeout', async () => {
    const server = createNetServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const drip = setInterval(() => (socket.destroyed ? clearInterval(drip) : socket.write('X')), 20);
      socket.on('close', () => clearInterval(drip));
      socket.on('error', () => undefined);
    });
    netServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dists/stable/InRelease`;

    await failsWith(new HttpFetcher({ stallTimeoutMs: 300 }).fetchBytes(url), {
      code: 'FETCH_TIMEOUT',
      message: new RegExp(`could not fetch ${url}: the mirror gave no answer within 0.3 s`),
      withinMs: 3000,
    });
  });

  it('gives up on a mirror that drips a byte now and then, by the deadline its size allows', async () => {
    const base = await mirror((_request, response) => {
      response.writeHead(200);
      const drip = setInterval(() => (response.destroyed ? clearInterval(drip) : response.write('x')), 20);
    });
    // Never 500 ms without a byte, so only the deadline can stop it: 0.5 s + 1000 bytes at 1000 B/s.
    const fetcher = new HttpFetcher({ stallTimeoutMs: 500, minBytesPerSecond: 1000 });

    await failsWith(fetcher.fetchBytes(`${base}/pool/main/t/tiny/tiny_1.0_all.deb`, { maxBytes: 1000 }), {
      code: 'FETCH_TIMEOUT',
      message: /not done after waiting 1.5 s for it \(\d+ bytes received\): the mirror sends too slowly/,
      withinMs: 5000,
    });
  });

  it('cuts a body that goes past its limit at once, and closes the connection', async () => {
    let sent = 0;
    let closed = false;
    const base = await mirror((_request, response) => {
      response.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const more = () => {
        while (!response.destroyed && sent < 1024 ** 3) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
      };
      response.on('close', () => {
        closed = true;
      });
      more();
    });

    await failsWith(new HttpFetcher().fetchBytes(`${base}/dists/stable/InRelease`, { maxBytes: 1024 ** 2 }), {
      code: 'FETCH_FAILED',
      message: /InRelease is larger than the 1048576-byte limit/,
      withinMs: 5000,
    });
    for (let i = 0; i < 100 && !closed; i += 1) await sleep(10);
    assert.ok(closed, 'the mirror still has the connection open');
    // What the socket buffers hold at most, not the gigabyte on offer.
    assert.ok(sent < 64 * 1024 ** 2, `the mirror got to send ${sent} bytes`);
  });

  it('fails a body that breaks off before its Content-Length, naming how much came', async () => {
    const base = await mirror((request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write(Buffer.alloc(10));
      setTimeout(() => request.socket.destroy(), 20);
    });

    await failsWith(new HttpFetcher().fetchBytes(`${base}/dists/stable/main/binary-amd64/Packages.gz`), {
      code: 'FETCH_FAILED',
      message: /Packages\.gz: the body broke off after 10 bytes/,
      withinMs: 2000,
    });
  });

  it('asks for the bytes as they are, with no content encoding for a mirror to decode into a bomb', async () => {
    let asked: string | undefined;
    const base = await mirror((request, response) => {
      asked = request.headers['accept-encoding'];
      response.end('Origin: Debian\n');
    });

    await new HttpFetcher().fetchBytes(`${base}/dists/stable/InRelease`);

    assert.equal(asked, 'identity');
  });

  it('does not count the time its reader takes as a stalled mirror', async () => {
    const base = await mirror((_request, response) => {
      response.writeHead(200);
      response.write('a'.repeat(1000));
      setTimeout(() => response.end('b'.repeat(1000)), 20);
    });
    const chunks = await new HttpFetcher({ stallTimeoutMs: 300 }).openChunks(`${base}/Packages`);
    let size = 0;

    for await (const chunk of chunks) {
      size += chunk.length;
      await sleep(700);
    }

    assert.equal(size, 2000);
  });
});

describe('HttpFetcher following redirects', { timeout: 30_000 }, () => {
  it('follows a mirror that sends it to another host, by a relative or an absolute Location', async () => {
    const target = await mirror((request, response) => response.end(`served ${request.url}`));
    const origin = await mirror((request, response) => {
      const location = request.url === '/relative' ? '/absolute' : `${target}/pool/x.deb`;
      response.writeHead(request.url === '/relative' ? 302 : 301, { location }).end();
    });

    const body = await new HttpFetcher().fetchBytes(`${origin}/relative`);

    assert.equal(body.toString(), 'served /pool/x.deb');
  });

  it('refuses a redirect to a file: URL without reading it, naming the URL asked for', async () => {
    let asked = 0;
    const origin = await mirror((_request, response) => {
      asked++;
      response.writeHead(302, { location: 'file:///etc/passwd' }).end();
    });

    await failsWith(new HttpFetcher().fetchBytes(`${origin}/dists/x/InRelease`), {
      code: 'FETCH_FAILED',
      message:
        /could not fetch http:\/\/127\.0\.0\.1:\d+\/dists\/x\/InRelease: the mirror redirects to file:\/\/\/etc\/passwd; only http and https are followed/,
      withinMs: 5_000,
    });
    assert.equal(asked, 1);
  });

  it('gives up on a mirror that redirects in a loop, after 20 redirects', async () => {
    let asked = 0;
    const origin = await mirror((request, response) => {
      asked++;
      response.writeHead(307, { location: request.url === '/a' ? '/b' : '/a' }).end();
    });

    await failsWith(new HttpFetcher().fetchBytes(`${origin}/a`), {
      code: 'FETCH_FAILED',
      message: /more than 20 redirects/,
      withinMs: 5_000,
    });
    assert.equal(asked, 21);
  });

  it('never follows https down to http, as apt does not; http up to https, and other hosts, it does', () => {
    assert.match(
      redirectRefusal('https://mirror.example/debian/a.deb', 'http://cdn.example/a.deb', 0) ?? '',
      /from https to http:\/\/cdn\.example\/a\.deb; a redirect from https to http is refused/,
    );
    assert.equal(redirectRefusal('https://mirror.example/a', 'https://cdn.example/a', 0), undefined);
    assert.equal(redirectRefusal('https://mirror.example/a', '/b', 0), undefined);
    assert.equal(redirectRefusal('http://mirror.example/a', 'https://mirror.example/a', 0), undefined);
    assert.match(
      redirectRefusal('http://mirror.example/a', 'ftp://mirror.example/a', 0) ?? '',
      /only http and https/,
    );
    assert.match(redirectRefusal('http://mirror.example/a', 'http://[::1', 0) ?? '', /which is no URL/);
    assert.match(redirectRefusal('http://mirror.example/a', '/b', 20) ?? '', /more than 20 redirects/);
  });
});

describe('HttpFetcher on file: URIs', { timeout: 30_000 }, () => {
  it('refuses a FIFO or a link to /dev/zero where an index should be, at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-fetcher-'));
    try {
      execFileSync('mkfifo', [join(dir, 'InRelease')]);
      await symlink('/dev/zero', join(dir, 'Packages'));

      for (const [name, what] of [
        ['InRelease', 'a FIFO'],
        ['Packages', 'a character device'],
      ] as const) {
        const url = pathToFileURL(join(dir, name)).href;
        await failsWith(new HttpFetcher().fetchBytes(url), {
          code: 'FETCH_FAILED',
          message: new RegExp(`could not read ${url}: it is ${what}, not a regular file`),
          withinMs: 2000,
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('follows a link to a regular file, as a local repository may publish its files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herd-fetcher-'));
    try {
      await writeFile(join(dir, 'Packages.real'), 'Package: tiny\n');
      await symlink(join(dir, 'Packages.real'), join(dir, 'Packages'));

      const bytes = await new HttpFetcher().fetchBytes(pathToFileURL(join(dir, 'Packages')).href);

      assert.equal(bytes.toString(), 'Package: tiny\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
