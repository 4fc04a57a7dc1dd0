/**
 * The fleet API as an attacker meets it, in-process (api.test-support.ts): a token slipped in
 * where it is not read (query, cookie), a spoofed client address against the failure limit, a
 * revoked token reused, a token looked for where it must never be again, paths and method
 * overrides that might step past the gate, and a body built to crash the validator.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHarness, overSocket, overTcp } from './api.test-support.js';
import type { ApiErrorBody } from './api-error.js';

const errorOf = async (response: Response) => ((await response.json()) as ApiErrorBody).error;

describe('the fleet API under attack', () => {
  it('reads a token only from the Authorization header: not from the query string or a cookie', async () => {
    const { request, tokenFor } = await apiHarness();
    const { token } = tokenFor('admin');

    const tries = [
      request(`/api/v1/journal?token=${token}`),
      request(`/api/v1/journal?access_token=${token}`),
      request('/api/v1/journal', { headers: { cookie: `token=${token}; herd_token=${token}` } }),
      request('/api/v1/journal', { headers: { 'x-herd-token': token, 'x-api-key': token } }),
    ];

    for (const response of await Promise.all(tries)) {
      assert.equal(response.status, 401);
      assert.equal((await errorOf(response)).code, 'TOKEN_MISSING');
    }
  });

  it('counts failures by the connection, so X-Forwarded-For and friends do not reset the limit', async () => {
    const { request, tokenFor } = await apiHarness();
    const { token } = tokenFor('viewer');
    const from = (presented: string, spoofed: string) =>
      request('/api/v1/journal', {
        headers: {
          authorization: `Bearer ${presented}`,
          'x-forwarded-for': spoofed,
          'x-real-ip': spoofed,
          forwarded: `for=${spoofed}`,
        },
        connection: overTcp('203.0.113.9'),
      });

    const statuses = [];
    for (let i = 0; i < 11; i++)
      statuses.push((await from(`herd_${'0'.repeat(12)}_${'A'.repeat(43)}`, `10.0.0.${i}`)).status);
    const valid = await from(token, '10.0.0.200');

    assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    assert.equal(valid.status, 429);
  });

  it('counts every loopback address as one client, so binding 127.0.0.2, .3, … does not reset the limit', async () => {
    const { request, tokenFor } = await apiHarness();
    const { token } = tokenFor('viewer');
    const from = (presented: string, address: string) =>
      request('/api/v1/journal', {
        headers: { authorization: `Bearer ${presented}` },
        connection: overTcp(address),
      });

    const statuses = [];
    for (let i = 2; i < 12; i++)
      statuses.push((await from(`herd_${'0'.repeat(12)}_${'A'.repeat(43)}`, `127.0.0.${i}`)).status);
    const valid = await from(token, '127.0.0.1');
    const mapped = await from(token, '::ffff:127.0.0.1');

    assert.deepEqual(statuses, Array(10).fill(401));
    assert.deepEqual([valid.status, mapped.status], [429, 429]);
  });

  it('refuses a revoked token on the very next call', async () => {
    const { request, tokenFor } = await apiHarness();
    const { token, info } = tokenFor('operator', 'deployer');
    const call = () => request('/api/v1/journal', { headers: { authorization: `Bearer ${token}` } });

    const before = await call();
    const revoked = await request(`/api/v1/tokens/${info.id}`, { method: 'DELETE', connection: overSocket });
    const after = await call();

    assert.deepEqual([before.status, revoked.status, after.status], [200, 200, 401]);
    assert.equal((await errorOf(after)).code, 'TOKEN_INVALID');
  });

  it('shows a token once: never again in the list, the journal or another answer', async () => {
    const { request, journal } = await apiHarness({ withFleet: true });
    const created = await request('/api/v1/tokens', {
      method: 'POST',
      body: JSON.stringify({ role: 'admin', name: 'ops' }),
      headers: { 'content-type': 'application/json' },
      connection: overSocket,
    });
    const { token } = (await created.json()) as { token: string };
    const secret = token.slice('herd_000000000000_'.length);
    const auth = { headers: { authorization: `Bearer ${token}` } };

    const answers = await Promise.all(
      ['/api/v1/tokens', '/api/v1/journal', '/api/v1/fleets', '/api/v1/fleets/web', '/api/v1/incidents'].map(
        async (path) => [path, await (await request(path, auth)).text()] as const,
      ),
    );
    const stored = JSON.stringify(journal.db.prepare('SELECT * FROM journal').all());

    assert.equal(secret.length, 43);
    for (const [path, text] of answers) assert.ok(!text.includes(secret), `${path} shows the token`);
    assert.ok(!stored.includes(secret), 'the journal holds the token');
  });

  it('lets no path spelling or method override step past the gate', async () => {
    const { request, tokenFor } = await apiHarness({ withFleet: true });
    const { token } = tokenFor('viewer');
    const paths = [
      '/api/v1//fleets/web/scale',
      '/api/v1/fleets/web/scale/',
      '/api/v1/fleets/web/./scale',
      '/api/v1/fleets/web/%73cale',
      '/API/v1/fleets/web/scale',
      '/v2/../api/v1/fleets/web/scale',
    ];

    const anonymous = await Promise.all(
      paths.map((path) =>
        request(path, {
          method: 'POST',
          body: '{"size":0}',
          headers: { 'content-type': 'application/json' },
        }),
      ),
    );
    const overridden = await request('/api/v1/fleets/web/scale', {
      method: 'POST',
      body: '{"size":0}',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'x-http-method-override': 'GET',
        'x-method-override': 'GET',
      },
    });
    const fleet = (await (await request('/api/v1/fleets/web', { connection: overSocket })).json()) as {
      size: number;
    };

    for (const [index, response] of anonymous.entries()) {
      assert.ok([401, 404].includes(response.status), `${paths[index]} answered ${response.status}`);
    }
    assert.equal(overridden.status, 403);
    assert.equal(fleet.size, 2);
  });

  it('answers a body nested 100,000 deep with 400 REQUEST_INVALID, not a crash', async () => {
    const { request } = await apiHarness({ withFleet: true });
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepInField = `{"digest":${deep}}`;

    const answers = await Promise.all(
      [deep, deepInField].map((body) =>
        request('/api/v1/fleets/web/rollout', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
          connection: overSocket,
        }),
      ),
    );

    for (const response of answers) {
      assert.equal(response.status, 400);
      assert.equal((await errorOf(response)).code, 'REQUEST_INVALID');
    }
  });
});
