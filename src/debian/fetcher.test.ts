import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DebianError } from './errors.js';
import { HttpFetcher } from './fetcher.js';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A port nothing listens on yet: taken from a server that is closed again. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('HttpFetcher', () => {
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
});
