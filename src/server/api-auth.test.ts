import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Permission, permissions, roleGrants, roles } from '../auth/roles.js';
import { digestA } from '../fleet/controller.test-support.js';
import { apiHarness, overSocket, overTcp } from './api.test-support.js';
import { ApiRefusal, unwrap } from './api-client.js';
import type { ApiErrorBody } from './api-error.js';

/** Every route of the fleet API, with a request that gets past validation, and its permission. */
const routes: { route: string; path: string; body?: unknown; permission: Permission }[] = [
  { route: 'GET /api/v1/fleets', path: '/api/v1/fleets', permission: 'fleets:read' },
  { route: 'GET /api/v1/fleets/:service', path: '/api/v1/fleets/web', permission: 'fleets:read' },
  {
    route: 'POST /api/v1/fleets/:service/rollout',
    path: '/api/v1/fleets/web/rollout',
    body: { digest: digestA },
    permission: 'fleets:rollout',
  },
  {
    route: 'POST /api/v1/fleets/:service/rollback',
    path: '/api/v1/fleets/web/rollback',
    permission: 'fleets:rollback',
  },
  {
    route: 'POST /api/v1/fleets/:service/scale',
    path: '/api/v1/fleets/web/scale',
    body: { size: 3 },
    permission: 'fleets:scale',
  },
  {
    route: 'POST /api/v1/fleets/:service/pause',
    path: '/api/v1/fleets/web/pause',
    permission: 'fleets:pause',
  },
  {
    route: 'POST /api/v1/fleets/:service/resume',
    path: '/api/v1/fleets/web/resume',
    permission: 'fleets:pause',
  },
  { route: 'GET /api/v1/fleets/:service/logs', path: '/api/v1/fleets/web/logs', permission: 'logs:read' },
  {
    route: 'POST /api/v1/instances/:id/verify',
    path: '/api/v1/instances/mem-000001/verify',
    permission: 'instances:verify',
  },
  { route: 'GET /api/v1/incidents', path: '/api/v1/incidents', permission: 'incidents:read' },
  // Without the upgrade a permitted caller gets 426 (debug-api.test.ts runs the session itself).
  {
    route: 'POST /api/v1/instances/:id/debug',
    path: '/api/v1/instances/mem-000001/debug?reason=looking%20into%20it&ttl=60',
    permission: 'instances:debug',
  },
  { route: 'GET /api/v1/journal', path: '/api/v1/journal', permission: 'journal:read' },
  {
    route: 'POST /api/v1/check',
    path: '/api/v1/check',
    body: { service: 'web' },
    permission: 'pipeline:run',
  },
  { route: 'GET /api/v1/pipeline', path: '/api/v1/pipeline', permission: 'pipeline:read' },
  { route: 'GET /api/v1/pipeline/:id', path: '/api/v1/pipeline/1', permission: 'pipeline:read' },
  { route: 'GET /api/v1/pipeline/:id/logs', path: '/api/v1/pipeline/1/logs', permission: 'pipeline:read' },
  // The first role allowed approves run 2 (held); the next ones get 409, past the permission.
  {
    route: 'POST /api/v1/pipeline/:id/approve',
    path: '/api/v1/pipeline/2/approve',
    permission: 'pipeline:run',
  },
  { route: 'GET /api/v1/tokens', path: '/api/v1/tokens', permission: 'tokens:manage' },
  {
    route: 'POST /api/v1/tokens',
    path: '/api/v1/tokens',
    body: { role: 'viewer' },
    permission: 'tokens:manage',
  },
  { route: 'DELETE /api/v1/tokens/:ref', path: '/api/v1/tokens/nobody', permission: 'tokens:manage' },
];

const methodOf = (route: string) => route.split(' ')[0] ?? 'GET';
const json = (body: unknown): RequestInit =>
  body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
const errorOf = async (response: Response) => ((await response.json()) as ApiErrorBody).error;

describe('the fleet API over TCP', () => {
  it('lists every route it serves in this table (so each is checked below)', async () => {
    const { app } = await apiHarness();

    const served = new Set(
      app.routes
        .filter((r) => r.path.startsWith('/api/v1/') && r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path}`),
    );

    assert.deepEqual([...served].sort(), routes.map((r) => r.route).sort());
  });

  it('refuses every route without a token: 401 TOKEN_MISSING with a Bearer challenge', async () => {
    const { request } = await apiHarness({ withFleet: true });

    for (const { route, path, body } of routes) {
      const response = await request(path, { method: methodOf(route), ...json(body) });

      assert.equal(response.status, 401, route);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="herd"');
      assert.equal((await errorOf(response)).code, 'TOKEN_MISSING', route);
    }
  });

  it('refuses a forged, revoked or malformed token: 401 TOKEN_INVALID', async () => {
    const { request, tokenFor, tokens } = await apiHarness();
    const { token, info } = tokenFor('admin');
    tokens.revoke(info.id, { actor: 'local:alice' });
    const forged = `${token.slice(0, -4)}AAAA`;

    for (const presented of [token, forged, 'herd_nothex', 'password']) {
      const response = await request('/api/v1/fleets', { headers: { authorization: `Bearer ${presented}` } });

      assert.equal(response.status, 401, presented);
      assert.equal((await errorOf(response)).code, 'TOKEN_INVALID');
    }
  });

  it('lets each role call exactly the routes its permissions allow, for every role and route', async () => {
    const { request, tokenFor } = await apiHarness({ withFleet: true });

    for (const role of roles) {
      const { token } = tokenFor(role);
      for (const { route, path, body, permission } of routes) {
        const response = await request(path, {
          method: methodOf(route),
          ...json(body),
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
        });

        if (roleGrants(role, permission)) {
          assert.ok(
            ![401, 403].includes(response.status) && response.status < 500,
            `${role} ${route}: ${response.status}`,
          );
        } else {
          assert.equal(response.status, 403, `${role} ${route}`);
          const error = await errorOf(response);
          assert.equal(error.code, 'FORBIDDEN');
          assert.match(
            error.message,
            new RegExp(`token:${role}:[0-9a-f]{12} \\(role ${role}\\) may not ${permission}`),
          );
        }
      }
    }
  });

  it('journals a scale with the token that asked, by name and id, not the server', async () => {
    const { client, tokenFor, fleets } = await apiHarness({ withFleet: true });
    const { token, info } = tokenFor('operator', 'deployer');

    const answer = await unwrap(
      client(overTcp(), token).fleets[':service'].scale.$post({
        param: { service: 'web' },
        json: { size: 5 },
      }),
    );

    assert.deepEqual(answer, { service: 'web', size: 5 });
    const scaled = fleets.events.filter((e) => e.kind === 'scaled');
    assert.deepEqual(scaled, [
      { kind: 'scaled', service: 'web', from: 2, to: 5, actor: `token:deployer:${info.id}` },
    ]);
  });

  it('pauses and resumes only for a token that may, journaled as that token; a viewer changes nothing', async () => {
    const { client, request, tokenFor, fleets } = await apiHarness({ withFleet: true });
    const viewer = tokenFor('viewer', 'watcher').token;
    const { token, info } = tokenFor('operator', 'deployer');
    const api = client(overTcp(), token);
    const pausedNow = async () =>
      (await unwrap(api.fleets[':service'].$get({ param: { service: 'web' } }))).paused;

    const anonymous = await request('/api/v1/fleets/web/pause', { method: 'POST' });
    const refused = await request('/api/v1/fleets/web/pause', {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}` },
    });
    const afterRefusals = await pausedNow();
    const paused = await unwrap(api.fleets[':service'].pause.$post({ param: { service: 'web' } }));
    const whilePaused = await pausedNow();
    const resumed = await unwrap(api.fleets[':service'].resume.$post({ param: { service: 'web' } }));

    assert.equal(anonymous.status, 401);
    assert.equal(refused.status, 403);
    assert.equal((await errorOf(refused)).code, 'FORBIDDEN');
    assert.equal(afterRefusals, undefined);
    assert.deepEqual(paused, { service: 'web', paused: true, changed: true });
    assert.equal(whilePaused?.actor, `token:deployer:${info.id}`);
    assert.deepEqual(resumed, { service: 'web', paused: false, changed: true });
    assert.deepEqual(
      fleets.events.flatMap((e) => (e.kind === 'paused' || e.kind === 'resumed' ? [[e.kind, e.actor]] : [])),
      [
        ['paused', `token:deployer:${info.id}`],
        ['resumed', `token:deployer:${info.id}`],
      ],
    );
  });

  it('answers 429 with Retry-After after ten invalid tokens from one address, even to a valid token', async () => {
    const { request, tokenFor, fleets } = await apiHarness();
    const { token } = tokenFor('viewer');
    const bearer = (presented: string, address = '203.0.113.5') =>
      request('/api/v1/journal', {
        headers: { authorization: `Bearer ${presented}` },
        connection: overTcp(address),
      });

    const failures = [];
    for (let i = 0; i < 10; i++)
      failures.push((await bearer(`herd_0000000000${String(i).padStart(2, '0')}_x`)).status);
    const limited = await bearer(token);
    const elsewhere = await bearer(token, '198.51.100.7');
    fleets.clock.advance(60_001);
    const later = await bearer(token);

    assert.deepEqual(failures, Array(10).fill(401));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '60');
    assert.equal((await errorOf(limited)).code, 'RATE_LIMITED');
    assert.equal(elsewhere.status, 200);
    assert.equal(later.status, 200);
  });
});

describe('the fleet API over the Unix socket', () => {
  it('needs no token and acts as the local user, with every permission', async () => {
    const { client, fleets, request } = await apiHarness({ withFleet: true });

    await unwrap(
      client(overSocket).fleets[':service'].scale.$post({ param: { service: 'web' }, json: { size: 1 } }),
    );
    const tokens = await request('/api/v1/tokens', { connection: overSocket });

    assert.deepEqual(
      fleets.events.filter((e) => e.kind === 'scaled').map((e) => 'actor' in e && e.actor),
      ['local:alice'],
    );
    assert.equal(tokens.status, 200);
  });

  it('creates a token once, and lists it without the token', async () => {
    const { client } = await apiHarness();
    const local = client(overSocket);

    const created = await unwrap(local.tokens.$post({ json: { role: 'operator', name: 'ci' } }));
    const listed = await unwrap(local.tokens.$get());

    assert.match(created.token, /^herd_[0-9a-f]{12}_/);
    assert.deepEqual(
      listed.map((t) => [t.name, t.role, t.createdBy]),
      [['ci', 'operator', 'local:alice']],
    );
    assert.ok(!JSON.stringify(listed).includes(created.token));
  });
});

describe('request limits and the one error shape', () => {
  it('refuses a body declared at 100 MB with 413 BODY_TOO_LARGE before reading it', async () => {
    const { request, tokenFor } = await apiHarness({ withFleet: true });
    const { token } = tokenFor('releaser');
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 65_536;
        controller.enqueue(new Uint8Array(65_536));
      },
    });

    const response = await request('/api/v1/fleets/web/rollout', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(100 * 1024 * 1024) },
    } as RequestInit);

    assert.equal(response.status, 413);
    assert.equal((await errorOf(response)).code, 'BODY_TOO_LARGE');
    assert.ok(pulled <= 2 * 65_536, `read ${pulled} bytes of the body`);
  });

  it('counts a streamed body without Content-Length and stops reading it past 256 KiB', async () => {
    const { request, tokenFor } = await apiHarness({ withFleet: true });
    const { token } = tokenFor('releaser');
    let pulled = 0;
    const chunk = new Uint8Array(65_536).fill(32);
    const hundredMegabytes = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 100 * 1024 * 1024) return controller.close();
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    });

    const response = await request('/api/v1/fleets/web/rollout', {
      method: 'POST',
      body: hundredMegabytes,
      duplex: 'half',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    } as RequestInit);

    assert.equal(response.status, 413);
    assert.ok(pulled <= 256 * 1024 + 2 * chunk.length, `read ${pulled} bytes of the body`);
  });

  it('names the wrong field of a body, a path and a query with 400 REQUEST_INVALID', async () => {
    const { request } = await apiHarness({ withFleet: true });
    const post = (path: string, body: string) =>
      request(path, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        connection: overSocket,
      });

    const size = await post('/api/v1/fleets/web/scale', '{"size":"many"}');
    const digest = await post('/api/v1/fleets/web/rollout', '{"digest":"sha256:abc"}');
    const service = await post('/api/v1/fleets/Not_A_Service/scale', '{"size":1}');
    const notJson = await post('/api/v1/fleets/web/scale', '{"size":');
    const tail = await request('/api/v1/fleets/web/logs?tail=lots', { connection: overSocket });

    for (const response of [size, digest, service, notJson, tail]) {
      assert.equal(response.status, 400);
    }
    assert.deepEqual(await errorOf(size), {
      code: 'REQUEST_INVALID',
      message: 'body.size: expected a number of instances, got "many"',
    });
    assert.match((await errorOf(digest)).message, /^body\.digest: expected a digest sha256:<64 hex digits>/);
    assert.match((await errorOf(service)).message, /^path\.service: expected a service name/);
    assert.equal((await errorOf(notJson)).code, 'REQUEST_INVALID');
    assert.match((await errorOf(tail)).message, /^query\.tail: expected a number of lines/);
  });

  it('answers an unknown route and a herd error in the same shape', async () => {
    const { request } = await apiHarness();

    const unknown = await request('/api/v1/nothing', { connection: overSocket });
    const noFleet = await request('/api/v1/fleets/other', { connection: overSocket });

    assert.equal(unknown.status, 404);
    assert.equal((await errorOf(unknown)).code, 'NOT_FOUND');
    assert.equal(noFleet.status, 404);
    assert.equal((await errorOf(noFleet)).code, 'FLEET_NOT_FOUND');
  });

  it('gives the typed client the refusal as ApiRefusal with the server code', async () => {
    const { client, tokenFor } = await apiHarness({ withFleet: true });
    const { token } = tokenFor('viewer');

    const refusal = await unwrap(
      client(overTcp(), token).fleets[':service'].scale.$post({
        param: { service: 'web' },
        json: { size: 0 },
      }),
    ).catch((error: unknown) => error);

    assert.ok(refusal instanceof ApiRefusal);
    assert.equal(refusal.status, 403);
    assert.equal(refusal.apiCode, 'FORBIDDEN');
  });
});

describe('/v2/ with pulls that need a token', () => {
  it('challenges a pull without a token with Basic, in the distribution spec error shape', async () => {
    const { request } = await apiHarness();

    const response = await request('/v2/');

    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="herd"');
    assert.equal(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
  });

  it('lets any role pull, with the token as a Basic password or a Bearer token', async () => {
    const { request, tokenFor } = await apiHarness();
    const { token } = tokenFor('viewer');
    const basic = Buffer.from(`anyone:${token}`).toString('base64');

    const withBasic = await request('/v2/', { headers: { authorization: `Basic ${basic}` } });
    const withBearer = await request('/v2/', { headers: { authorization: `Bearer ${token}` } });

    assert.equal(withBasic.status, 200);
    assert.equal(withBearer.status, 200);
    assert.ok(permissions.includes('images:pull'));
  });
});
