import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { unixSocketFetch } from './unix-socket-fetch.js';

describe('fetch over the control plane socket', () => {
  let server: Server | undefined;
  after(() => server?.close());

  it('sends a request again once on a new connection when the kept-alive one was closed by the server', async () => {
    const socketPath = join(await mkdtemp(join(tmpdir(), 'herd-socket-fetch-')), 'api.sock');
    const served = new WeakSet<Socket>();
    let dropped = 0;
    // Answers the first request of each connection and drops the connection on the next one: what a
    // client sees when the server closed an idle kept-alive connection as the request went out.
    server = createServer((request, response) => {
      if (served.has(request.socket)) {
        dropped++;
        request.socket.destroy();
        return;
      }
      served.add(request.socket);
      response.end('ok');
    });
    await new Promise<void>((resolve) => server?.listen(socketPath, resolve));
    const fetchOverSocket = unixSocketFetch(socketPath);

    for (let i = 0; i < 3; i++) {
      const response = await fetchOverSocket('http://localhost/api/v1/fleets');
      assert.equal(await response.text(), 'ok');
    }
    assert.ok(
      dropped >= 1,
      'the client reused a kept-alive connection at least once, so the retry was exercised',
    );
  });
});
