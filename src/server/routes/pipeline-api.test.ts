import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHarness, overSocket, overTcp } from '../api.test-support.js';
import { ApiRefusal, unwrap } from '../api-client.js';
import type { ApiErrorBody } from '../api-error.js';
import { MemoryRemediation } from '../remediation.test-support.js';

const errorOf = async (response: Response) => ((await response.json()) as ApiErrorBody).error;
const refusalOf = (call: Promise<unknown>) =>
  call.then(
    () => assert.fail('expected the call to be refused'),
    (error: unknown) => {
      assert.ok(error instanceof ApiRefusal, String(error));
      return error;
    },
  );

describe('POST /api/v1/check', () => {
  it('checks the fleet named, with the token that asked as the actor, and answers each outcome', async () => {
    const { client, tokenFor, remediation } = await apiHarness();
    const { token, info } = tokenFor('releaser', 'ci');

    const outcomes = await unwrap(client(overTcp(), token).check.$post({ json: { service: 'web' } }));

    assert.deepEqual(
      outcomes.map((outcome) => [outcome.service, outcome.findings.length, outcome.run?.id]),
      [['web', 1, 1]],
    );
    assert.equal(outcomes[0]?.findings[0]?.packages[0]?.to, '3.0.11-1~deb12u2');
    assert.ok(remediation instanceof MemoryRemediation);
    assert.deepEqual(remediation.checks, [{ service: 'web', actor: `token:ci:${info.id}` }]);
  });

  it('checks every fleet when the body names none, or there is no body', async () => {
    const { client, request, remediation } = await apiHarness();

    const outcomes = await unwrap(client(overSocket).check.$post({ json: {} }));
    const bare = await request('/api/v1/check', { method: 'POST', connection: overSocket });

    assert.deepEqual(
      outcomes.map((outcome) => [outcome.service, outcome.skipped]),
      [
        ['web', undefined],
        ['api', 'outside its maintenance window'],
        ['db', undefined],
      ],
    );
    assert.equal(bare.status, 200);
    assert.ok(remediation instanceof MemoryRemediation);
    assert.deepEqual(remediation.checks, [{ actor: 'local:alice' }, { actor: 'local:alice' }]);
  });

  it('refuses a service name that is not one, naming the field', async () => {
    const { request } = await apiHarness();

    const response = await request('/api/v1/check', {
      method: 'POST',
      body: JSON.stringify({ service: '../etc' }),
      headers: { 'content-type': 'application/json' },
      connection: overSocket,
    });

    assert.equal(response.status, 400);
    assert.match((await errorOf(response)).message, /^body\.service: expected a service name/);
  });
});

describe('GET /api/v1/pipeline', () => {
  it('lists the runs newest first, of one service when asked, at most limit', async () => {
    const { client } = await apiHarness();
    const api = client(overSocket);

    const all = await unwrap(api.pipeline.$get({ query: {} }));
    const web = await unwrap(api.pipeline.$get({ query: { service: 'web' } }));
    const newest = await unwrap(api.pipeline.$get({ query: { limit: '1' } }));

    assert.deepEqual(
      all.map((run) => run.id),
      [3, 2, 1],
    );
    assert.deepEqual(
      web.map((run) => run.id),
      [2, 1],
    );
    assert.deepEqual(
      newest.map((run) => run.id),
      [3],
    );
  });

  it('refuses a limit that is not a number of runs from 1 to 1000', async () => {
    const { request } = await apiHarness();

    for (const limit of ['0', 'many', '1001', '-1']) {
      const response = await request(`/api/v1/pipeline?limit=${limit}`, { connection: overSocket });

      assert.equal(response.status, 400, limit);
      assert.match((await errorOf(response)).message, /^query\.limit: expected/, limit);
    }
  });
});

describe('GET /api/v1/pipeline/:id and its logs', () => {
  it('answers one run with its stages, findings, error and time-to-remediate', async () => {
    const { client } = await apiHarness();
    const api = client(overSocket);

    const done = await unwrap(api.pipeline[':id'].$get({ param: { id: '1' } }));
    const failed = await unwrap(api.pipeline[':id'].$get({ param: { id: '3' } }));

    assert.equal(done.status, 'succeeded');
    assert.equal(done.timeToRemediateMs, 92_000);
    assert.deepEqual(
      done.stages.map((stage) => [stage.stage, stage.status, stage.durationMs]),
      [
        ['lock', 'passed', 1000],
        ['build', 'passed', 1000],
      ],
    );
    assert.equal(failed.error, 'accept: GET /healthz answered 500, expected 200');
  });

  it("answers each stage's output, without a duration for a stage still running", async () => {
    const { client } = await apiHarness();

    const logs = await unwrap(client(overSocket).pipeline[':id'].logs.$get({ param: { id: '2' } }));

    assert.deepEqual(logs, {
      id: 2,
      stages: [
        { stage: 'release', status: 'passed', durationMs: 1000, output: 'released at accepted' },
        { stage: 'approve', status: 'running', output: 'held for herd approve 2' },
      ],
    });
  });

  it('answers 404 RUN_NOT_FOUND for a run that does not exist, and 400 for an id that is not one', async () => {
    const { request } = await apiHarness();

    const missing = await request('/api/v1/pipeline/99', { connection: overSocket });
    const missingLogs = await request('/api/v1/pipeline/99/logs', { connection: overSocket });
    const zero = await request('/api/v1/pipeline/0', { connection: overSocket });
    const word = await request('/api/v1/pipeline/latest/logs', { connection: overSocket });

    assert.equal(missing.status, 404);
    assert.deepEqual(await errorOf(missing), {
      code: 'RUN_NOT_FOUND',
      message: 'no pipeline run 99: herd pipeline ls lists them',
    });
    assert.equal(missingLogs.status, 404);
    for (const response of [zero, word]) {
      assert.equal(response.status, 400);
      assert.match((await errorOf(response)).message, /^path\.id: expected a run id/);
    }
  });
});

describe('POST /api/v1/pipeline/:id/approve', () => {
  it('approves a held run with the caller as the actor, once', async () => {
    const { client, tokenFor, remediation } = await apiHarness();
    const { token, info } = tokenFor('releaser', 'lead');
    const api = client(overTcp(), token);

    const approved = await unwrap(api.pipeline[':id'].approve.$post({ param: { id: '2' } }));
    const again = await refusalOf(unwrap(api.pipeline[':id'].approve.$post({ param: { id: '2' } })));

    assert.equal(approved.status, 'running');
    assert.equal(approved.stage, 'promote');
    assert.ok(remediation instanceof MemoryRemediation);
    assert.deepEqual(remediation.approvals, [{ id: 2, actor: `token:lead:${info.id}` }]);
    assert.equal(again.status, 409);
    assert.equal(again.apiCode, 'RUN_NOT_AWAITING_APPROVAL');
  });

  it('refuses a run that does not exist with 404, asking nothing of the loop', async () => {
    const { client, remediation } = await apiHarness();

    const refusal = await refusalOf(
      unwrap(client(overSocket).pipeline[':id'].approve.$post({ param: { id: '42' } })),
    );

    assert.equal(refusal.status, 404);
    assert.equal(refusal.apiCode, 'RUN_NOT_FOUND');
    assert.ok(remediation instanceof MemoryRemediation);
    assert.deepEqual(remediation.approvals, []);
  });
});

describe('who may use the pipeline routes', () => {
  it('lets a viewer read the runs and refuses it a check and an approval with 403', async () => {
    const { request, tokenFor, remediation } = await apiHarness();
    const { token } = tokenFor('viewer');
    const { token: operator } = tokenFor('operator');
    const as = (bearer: string, path: string, method = 'GET') =>
      request(path, { method, headers: { authorization: `Bearer ${bearer}` } });

    const list = await as(token, '/api/v1/pipeline');
    const check = await as(token, '/api/v1/check', 'POST');
    const approve = await as(operator, '/api/v1/pipeline/2/approve', 'POST');

    assert.equal(list.status, 200);
    assert.equal(check.status, 403);
    assert.match(
      (await errorOf(check)).message,
      /may not pipeline:run: expected a token with the releaser role/,
    );
    assert.equal(approve.status, 403);
    assert.equal((await errorOf(approve)).code, 'FORBIDDEN');
    assert.ok(remediation instanceof MemoryRemediation);
    assert.deepEqual([remediation.checks, remediation.approvals], [[], []]);
  });

  it('refuses every pipeline route without a token: 401', async () => {
    const { request } = await apiHarness();

    for (const [method, path] of [
      ['POST', '/api/v1/check'],
      ['GET', '/api/v1/pipeline'],
      ['GET', '/api/v1/pipeline/1'],
      ['GET', '/api/v1/pipeline/1/logs'],
      ['POST', '/api/v1/pipeline/2/approve'],
    ] as const) {
      const response = await request(path, { method });

      assert.equal(response.status, 401, path);
      assert.equal((await errorOf(response)).code, 'TOKEN_MISSING');
    }
  });
});

describe('a control plane without the remediation loop', () => {
  it('answers the pipeline routes 503 REMEDIATION_NOT_RUNNING', async () => {
    const { request } = await apiHarness({ remediation: 'not-running' });

    const list = await request('/api/v1/pipeline', { connection: overSocket });
    const check = await request('/api/v1/check', { method: 'POST', connection: overSocket });

    for (const response of [list, check]) {
      assert.equal(response.status, 503);
      assert.equal((await errorOf(response)).code, 'REMEDIATION_NOT_RUNNING');
    }
  });

  it("still answers a fleet's status, without time-to-remediate", async () => {
    const { client } = await apiHarness({ withFleet: true, remediation: 'not-running' });

    const status = await unwrap(client(overSocket).fleets[':service'].$get({ param: { service: 'web' } }));

    assert.equal(status.service, 'web');
    assert.equal(status.remediation, undefined);
  });
});

describe("a fleet's status", () => {
  it('carries its time-to-remediate when the loop runs', async () => {
    const { client } = await apiHarness({ withFleet: true });

    const status = await unwrap(client(overSocket).fleets[':service'].$get({ param: { service: 'web' } }));

    assert.deepEqual(status.remediation, {
      service: 'web',
      count: 3,
      lastMs: 92_000,
      p50Ms: 95_000,
      p90Ms: 130_000,
      maxMs: 131_000,
    });
  });
});
