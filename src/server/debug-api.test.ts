/**
 * `herd debug`'s route through the real Node server, over TCP with tokens and over the Unix socket,
 * with the client the CLI uses: the HTTP upgrade, the framed stream, the roles. The session runs on
 * the memory engine, whose debug program answers as `probe-server echo` does; test/debug-e2e.test.ts
 * runs a real shell on podman.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FailureLimiter } from '../auth/failure-limiter.js';
import { SqliteTokenStore } from '../auth/token-store.js';
import { silentLogger } from '../common/index.js';
import { DebugSessions } from '../debug/debug-sessions.js';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type ImageManifest, MediaType } from '../oci/types.js';
import { ApiRefusal } from './api-client.js';
import { createApp } from './app.js';
import type { ControlPlane } from './control-plane.js';
import { attachDebugSession, type DebugTerminal } from './debug-client.js';
import { type RunningServer, startServer, startSocketServer } from './node-server.js';

function pipedTerminal(input: string) {
  const seen = { stdout: '', stderr: '', notices: '' };
  const terminal: DebugTerminal = {
    input: (async function* () {
      yield Buffer.from(input);
    })(),
    stdout: (data) => {
      seen.stdout += data.toString();
    },
    stderr: (data) => {
      seen.stderr += data.toString();
    },
    notice: (text) => {
      seen.notices += text;
    },
  };
  return { terminal, seen };
}

describe('the debug route through the Node server', () => {
  let work: string;
  let h: ReturnType<typeof fleetHarness>;
  let journal: Journal;
  let tokens: SqliteTokenStore;
  let tcp: RunningServer;
  let socket: RunningServer;
  let socketPath: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-debug-api-'));
    const store = new LayoutStore(join(work, 'store'));
    await store.init();
    const config = await store.putJson(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    );
    const image: ImageManifest = { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] };
    const digest = (await store.putJson(image, MediaType.imageManifest)).digest;
    h = fleetHarness();
    journal = new Journal(h.db, { clock: h.clock });
    tokens = new SqliteTokenStore(journal);
    const shell = Buffer.from('#!/memory/echo\n');
    h.engine.setImageFiles(digest, [
      {
        path: 'bin/sh',
        type: 'file',
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: shell.length,
        mtime: 0,
        data: shell,
      },
    ]);
    await h.controller.rollout('web', { revision: 'r1', digest }, { template: template({ size: 3 }) });
    await h.runUntil(() => h.statusIs('r1'));
    const sessions = new DebugSessions({
      engine: h.engine,
      fleets: h.controller,
      store,
      journal,
      db: h.db,
      spoolDir: join(work, 'debug'),
      log: silentLogger,
    });
    const plane = { tokens, journal, debug: async () => sessions } as unknown as ControlPlane;
    const app = createApp({ store, fleetApi: { plane, log: silentLogger }, limiter: new FailureLimiter() });
    tcp = await startServer({ app });
    socketPath = join(work, 'control-plane.sock');
    socket = await startSocketServer({ app, socketPath });
  });

  after(async () => {
    await tcp?.close();
    await socket?.close();
    await rm(work, { recursive: true, force: true });
  });

  const request = (instance: string) => ({
    instance,
    reason: 'INC-7: stuck requests',
    ttlSeconds: 60,
    tty: false,
  });

  it('runs a session for an admin token over TCP: the output comes back, the journal names the token and the instance is destroyed', async () => {
    const [instance] = await h.engine.list();
    const { token, info } = tokens.create({ role: 'admin', name: 'oncall', actor: 'local:alice' });
    const { terminal, seen } = pipedTerminal('id\nexit\n');

    const end = await attachDebugSession(
      { kind: 'url', url: tcp.url, token },
      request(instance!.id),
      terminal,
    );

    assert.equal(seen.stdout, 'uid=65532 id\nuid=65532 exit\n');
    assert.match(seen.notices, /debug session [0-9a-f]{16} on/);
    assert.equal(end.ended, 'exit');
    assert.equal(end.exitCode, 0);
    assert.equal(end.destroyed, true);
    assert.match(end.transcript ?? '', /^sha256:[0-9a-f]{64}$/);
    const started = journal
      .list()
      .find((one) => one.action === 'debug' && one.details.instance === instance!.id);
    assert.equal(started?.actor, `token:oncall:${info.id}`);
    assert.equal(started?.details.reason, 'INC-7: stuck requests');
    assert.ok(!(await h.engine.list()).some((one) => one.id === instance!.id));
  });

  it('refuses an operator token with 403 FORBIDDEN before anything happens to the instance', async () => {
    const [instance] = await h.engine.list();
    const { token } = tokens.create({ role: 'operator', name: 'deployer', actor: 'local:alice' });
    const before = journal.list().length;

    await assert.rejects(
      attachDebugSession(
        { kind: 'url', url: tcp.url, token },
        request(instance!.id),
        pipedTerminal('id\n').terminal,
      ),
      (error: unknown) =>
        error instanceof ApiRefusal &&
        error.status === 403 &&
        error.apiCode === 'FORBIDDEN' &&
        /admin role/.test(error.message),
    );
    assert.equal(journal.list().length, before);
    assert.ok((await h.engine.list()).some((one) => one.id === instance!.id));
  });

  it('runs a session for the local user over the socket, journaled as that user', async () => {
    const [instance] = await h.engine.list();
    const { terminal, seen } = pipedTerminal('hello\n');

    const end = await attachDebugSession({ kind: 'socket', socketPath }, request(instance!.id), terminal);

    assert.equal(seen.stdout, 'uid=65532 hello\n');
    assert.equal(end.ended, 'exit');
    const started = journal.list().findLast((one) => one.action === 'debug');
    assert.match(started?.actor ?? '', /^local:/);
  });

  it('answers a request without the upgrade with 426, and a missing reason with 400 naming the field', async () => {
    const [instance] = await h.engine.list();
    const post = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const outgoing = httpRequest({
          socketPath,
          path,
          method: 'POST',
          headers: { host: 'localhost', ...headers },
        });
        outgoing.once('response', async (response) => {
          let body = '';
          for await (const chunk of response) body += chunk;
          resolve({ status: response.statusCode ?? 0, body });
        });
        outgoing.once('error', reject);
        outgoing.end();
      });

    const plain = await post(`/api/v1/instances/${instance!.id}/debug?reason=because&ttl=60`);
    const noReason = await post(`/api/v1/instances/${instance!.id}/debug?ttl=60`, {
      connection: 'Upgrade',
      upgrade: 'herd-debug',
    });
    const tooLong = await post(`/api/v1/instances/${instance!.id}/debug?reason=because&ttl=86400`, {
      connection: 'Upgrade',
      upgrade: 'herd-debug',
    });

    assert.equal(plain.status, 426);
    assert.match(plain.body, /UPGRADE_REQUIRED/);
    assert.equal(noReason.status, 400);
    assert.match(noReason.body, /query\.reason/);
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body, /query\.ttl: expected a time to live in seconds from 1 to 3600/);
    assert.ok((await h.engine.list()).some((one) => one.id === instance!.id));
  });
});
