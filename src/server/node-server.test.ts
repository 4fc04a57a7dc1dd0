import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Connection } from './authenticate.js';
import type { ServerError } from './errors.js';
import { type RunningServer, startServer, startSocketServer } from './node-server.js';
import { unixSocketFetch } from './unix-socket-fetch.js';

/** Answers with how the request arrived, as the adapter said. */
const echoConnection = {
  fetch: (_request: Request, env: { connection: Connection }) => Response.json(env.connection),
};

describe('the Node adapter', () => {
  const running: RunningServer[] = [];
  after(async () => {
    for (const server of running) await server.close().catch(() => undefined);
  });
  const socketIn = async () => join(await mkdtemp(join(tmpdir(), 'herd-socket-')), 'control-plane.sock');

  it('serves a Unix socket with mode 0600 and tells the app a request came over it', async () => {
    const socketPath = await socketIn();
    running.push(await startSocketServer({ app: echoConnection, socketPath }));

    const answer = await unixSocketFetch(socketPath)('http://localhost/anything');

    assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
    assert.deepEqual(await answer.json(), {
      transport: 'unix',
      user: (await import('node:os')).userInfo().username,
    });
  });

  it("tells the app a TCP request's remote address", async () => {
    const server = await startServer({ app: echoConnection, port: 0 });
    running.push(server);

    const answer = await fetch(`${server.url}/anything`);

    assert.deepEqual(await answer.json(), { transport: 'tcp', remoteAddress: '127.0.0.1' });
  });

  it('cuts off a client that trickles its headers or its body (slowloris) with 408', async () => {
    const readsBody = {
      fetch: async (request: Request) => Response.json({ bytes: (await request.text()).length }),
    };
    const server = await startServer({
      app: readsBody,
      port: 0,
      limits: { headersMs: 400, requestMs: 800, checkEveryMs: 100 },
    });
    running.push(server);
    const { port } = new URL(server.url);

    const trickle = (head: string) =>
      new Promise<{ answer: string; ms: number }>((resolve) => {
        const started = Date.now();
        const socket = connect(Number(port), '127.0.0.1');
        let answer = '';
        socket.write(head);
        const drip = setInterval(() => socket.write(' '), 100);
        const giveUp = setTimeout(() => socket.destroy(), 10_000);
        socket.on('data', (data) => {
          answer += data;
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(drip);
          clearTimeout(giveUp);
          resolve({ answer: answer.split('\r\n')[0] ?? '', ms: Date.now() - started });
        });
      });
    const [headers, body] = await Promise.all([
      trickle('POST / HTTP/1.1\r\nHost: x\r\nX-Slow: a'),
      trickle('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{'),
    ]);

    assert.ok(headers.ms < 3_000, `trickled headers held the connection ${headers.ms} ms`);
    assert.ok(body.ms < 3_000, `a trickled body held the connection ${body.ms} ms`);
    assert.equal(body.answer, 'HTTP/1.1 408 Request Timeout');
  });

  it('refuses a socket another server answers on, with SOCKET_IN_USE', async () => {
    const socketPath = await socketIn();
    running.push(await startSocketServer({ app: echoConnection, socketPath }));

    await assert.rejects(
      startSocketServer({ app: echoConnection, socketPath }),
      (error: ServerError) => error.code === 'SOCKET_IN_USE',
    );
  });

  it('takes over a socket left by a process killed with SIGKILL', async () => {
    const socketPath = await socketIn();
    const holder = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.ok((await stat(socketPath)).isSocket(), 'the killed process left its socket behind');

    running.push(await startSocketServer({ app: echoConnection, socketPath }));
    const answer = await unixSocketFetch(socketPath)('http://localhost/');

    assert.equal(((await answer.json()) as Connection).transport, 'unix');
  });

  it('refuses a path that is not a socket, and a path too long for one', async () => {
    const file = await socketIn();
    await writeFile(file, 'not a socket');
    const deep = join(tmpdir(), 'd'.repeat(120), 'control-plane.sock');

    await assert.rejects(
      startSocketServer({ app: echoConnection, socketPath: file }),
      (error: ServerError) => error.code === 'SOCKET_IN_USE' && /is not a socket/.test(error.message),
    );
    await assert.rejects(
      startSocketServer({ app: echoConnection, socketPath: deep }),
      (error: ServerError) => error.code === 'SOCKET_PATH_TOO_LONG',
    );
  });
});
