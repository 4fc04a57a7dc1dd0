import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { reachesItself } from './reaches-itself.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('reachesItself', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('says yes for a server a connection to its own address reaches', async () => {
    const server = createServer((socket) => socket.end());
    servers.push(server);
    const port = await listen(server);
    assert.equal(await reachesItself(server, { host: '127.0.0.1', port }), true);
  });

  it('says no when the connection reaches another server (as a NAT rule would send it)', async () => {
    // Two servers: the check is asked of one, with the other's port, as a connection that a
    // forwarding rule takes elsewhere would be accepted by something other than the server.
    const mine = createServer((socket) => socket.end());
    const elsewhere = createServer((socket) => socket.end());
    servers.push(mine, elsewhere);
    await listen(mine);
    const otherPort = await listen(elsewhere);
    assert.equal(
      await reachesItself(mine, { host: '127.0.0.1', port: otherPort }, { timeoutMs: 500 }),
      false,
    );
  });

  it('says no when the connection is refused', async () => {
    const gone = createServer();
    const port = await listen(gone);
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const mine = createServer();
    servers.push(mine);
    await listen(mine);
    assert.equal(await reachesItself(mine, { host: '127.0.0.1', port }, { timeoutMs: 500 }), false);
  });
});
