/**
 * The fleet API's guard through the real `herd serve`: the local CLI over the control plane's
 * Unix socket (no token, acting as the local user), remote calls over TCP with tokens made by
 * `herd token create`, the journal naming who did what, a second local user kept out of the
 * socket, and a 100 MB body refused without the control plane's memory growing. No fleet runs,
 * so no engine is needed: the token routes are the mutations used here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { apiClient, unwrap } from '../src/server/api-client.js';
import { freshHome } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import { freePort } from './support/free-port.js';
import { type RunningHerd, startHerd, stopHerd } from './support/herd-process.js';

async function serving(args: string[] = []) {
  const home = await freshHome();
  const created = runHerd(['token', 'create', '--role', 'admin', '--name', 'ops'], { home });
  assert.equal(created.status, 0, created.err);
  const port = await freePort();
  const serve = startHerd(['serve', '--port', String(port), ...args], home);
  await serve.waitFor(/local CLI socket at/, 60_000);
  return { home, serve, url: `http://127.0.0.1:${port}`, adminToken: created.out.trim() };
}

/** The control plane's resident memory, from the kernel. */
async function residentBytes(pid: number): Promise<number> {
  const status = (await import('node:fs/promises')).readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(await status)?.[1];
  assert.ok(kib, `no VmRSS for pid ${pid}`);
  return Number(kib) * 1024;
}

/** POSTs `bytes` of JSON-looking filler, streamed, and resolves with the status and when it came. */
function postHuge(
  url: string,
  options: { bytes: number; token: string; declareLength: boolean },
): Promise<{ status: number; ms: number }> {
  const started = Date.now();
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const body = new Readable({
    read() {
      if (sent >= options.bytes) return this.push(null);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/api/v1/fleets/web/rollout`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          ...(options.declareLength ? { 'content-length': String(options.bytes) } : {}),
        },
      },
      (incoming) => {
        incoming.resume();
        resolve({ status: incoming.statusCode ?? 0, ms: Date.now() - started });
        body.destroy();
        outgoing.destroy();
      },
    );
    // The server closes while the body is still going out (EPIPE, ECONNRESET): the answer it sent
    // first is what counts, so an error only fails the call when no answer follows it.
    outgoing.on('error', (error) => setTimeout(() => reject(error), 1_000).unref());
    body.pipe(outgoing);
  });
}

describe('herd serve: the fleet API over its socket and over TCP', () => {
  let home: string;
  let serve: RunningHerd | undefined;
  let url: string;
  let adminToken: string;

  before(async () => {
    ({ home, serve, url, adminToken } = await serving());
  });
  after(async () => {
    await stopHerd(serve);
  });

  it('makes the socket 0600 and owned by the user who started herd serve', async () => {
    const socket = await stat(join(home, 'control-plane.sock'));

    assert.ok(socket.isSocket());
    assert.equal(socket.mode & 0o777, 0o600);
    assert.equal(socket.uid, process.getuid?.());
  });

  it('refuses a call over TCP without a token with 401, and a viewer that mutates with 403', async () => {
    const anonymous = apiClient({ kind: 'url', url });
    const viewer = runHerd(['token', 'create', '--role', 'viewer', '--name', 'dash'], { home }).out.trim();

    const refused = await unwrap(anonymous.journal.$get({ query: {} })).catch((error: unknown) => error);
    const forbidden = await unwrap(
      apiClient({ kind: 'url', url, token: viewer }).tokens.$post({ json: { role: 'admin' } }),
    ).catch((error: unknown) => error);
    const reads = await unwrap(apiClient({ kind: 'url', url, token: viewer }).journal.$get({ query: {} }));

    assert.equal((refused as { status: number; apiCode: string }).status, 401);
    assert.equal((refused as { apiCode: string }).apiCode, 'TOKEN_MISSING');
    assert.equal((forbidden as { status: number }).status, 403);
    assert.equal((forbidden as { apiCode: string }).apiCode, 'FORBIDDEN');
    assert.ok(reads.length > 0);
  });

  it("journals a mutation over TCP with the token's name and id, and one over the socket as the local user", async () => {
    const admin = apiClient({ kind: 'url', url, token: adminToken });
    const ops = (await unwrap(localApi(home).tokens.$get())).find((t) => t.name === 'ops');

    const created = await unwrap(admin.tokens.$post({ json: { role: 'operator', name: 'deployer' } }));
    const revoked = await unwrap(localApi(home).tokens[':ref'].$delete({ param: { ref: 'deployer' } }));
    const journal = await unwrap(localApi(home).journal.$get({ query: { limit: '2' } }));
    const afterRevoke = await unwrap(
      apiClient({ kind: 'url', url, token: created.token }).journal.$get({ query: {} }),
    ).catch((error: unknown) => error);

    assert.equal(revoked.id, created.info.id);
    assert.deepEqual(
      journal.map((entry) => [entry.action, entry.actor, entry.details.name]),
      [
        ['token-create', `token:ops:${ops?.id}`, 'deployer'],
        ['token-revoke', `local:${userInfo().username}`, 'deployer'],
      ],
    );
    assert.equal((afterRevoke as { apiCode: string }).apiCode, 'TOKEN_INVALID');
  });

  it('lets the CLI call over TCP with HERD_URL and HERD_TOKEN (token ls, journal), and says so when the token is missing', () => {
    const listed = runHerd(['token', 'ls'], { home, env: { HERD_URL: url, HERD_TOKEN: adminToken } });
    const missing = runHerd(['token', 'ls'], { home, env: { HERD_URL: url, HERD_TOKEN: '' } });
    const journal = runHerd(['journal', '--json'], { home, env: { HERD_URL: url, HERD_TOKEN: adminToken } });

    assert.equal(listed.status, 0, listed.err);
    assert.match(listed.out, /^ops +[0-9a-f]{12} +admin /m);
    assert.ok(!listed.out.includes(adminToken));
    assert.equal(missing.status, 2);
    assert.match(missing.err, /refused: a call over TCP needs a token/);
    assert.equal(journal.status, 0, journal.err);
    assert.ok(
      (JSON.parse(journal.out) as { action: string }[]).some((entry) => entry.action === 'token-create'),
    );
  });

  it('keeps a second local user out of the socket (EACCES)', () => {
    assert.equal(process.getuid?.(), 0, 'this test acts as a second user (nobody), which needs root');
    const socket = join(home, 'control-plane.sock');

    const intruder = spawnSync(
      process.execPath,
      [
        '-e',
        `require('node:net').connect(${JSON.stringify(socket)}).on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => { console.log('CONNECTED'); process.exit(0); })`,
      ],
      { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' },
    );

    assert.equal(intruder.stdout.trim(), 'EACCES', intruder.stderr);
  });

  it('answers a 100 MB body with 413 at once, and its memory does not grow', async () => {
    const pid = serve?.child.pid;
    assert.ok(pid);
    const before = await residentBytes(pid);

    const declared = await postHuge(url, {
      bytes: 100 * 1024 * 1024,
      token: adminToken,
      declareLength: true,
    });
    const chunked = await postHuge(url, {
      bytes: 100 * 1024 * 1024,
      token: adminToken,
      declareLength: false,
    });
    const grown = (await residentBytes(pid)) - before;

    assert.deepEqual([declared.status, chunked.status], [413, 413]);
    assert.ok(declared.ms < 2_000 && chunked.ms < 2_000, `413 after ${declared.ms} and ${chunked.ms} ms`);
    assert.ok(grown < 32 * 1024 * 1024, `the control plane grew by ${(grown / 1024 ** 2).toFixed(1)} MiB`);
  });
});

describe('herd serve --v2-auth token', () => {
  let serve: RunningHerd | undefined;
  after(async () => {
    await stopHerd(serve);
  });

  it('asks pulls from /v2/ for a token, with a Basic challenge a registry client answers', async () => {
    const started = await serving(['--v2-auth', 'token']);
    serve = started.serve;
    const basic = Buffer.from(`anyone:${started.adminToken}`).toString('base64');

    const anonymous = await fetch(`${started.url}/v2/`);
    const withToken = await fetch(`${started.url}/v2/`, { headers: { authorization: `Basic ${basic}` } });
    const wrong = await fetch(`${started.url}/v2/`, {
      headers: { authorization: `Basic ${Buffer.from('anyone:herd_000000000000_x').toString('base64')}` },
    });

    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="herd"');
    assert.equal(
      ((await anonymous.json()) as { errors: { code: string }[] }).errors[0]?.code,
      'UNAUTHORIZED',
    );
    assert.equal(withToken.status, 200);
    assert.equal(wrong.status, 401);
  });
});
