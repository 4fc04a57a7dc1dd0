import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { Digest } from '../oci/index.js';
import { pipelineWebhookBody, postPipelineWebhook } from './pipeline-webhook.js';
import type { PipelineRun } from './remediation-types.js';

const secret = 'hunter2-very-secret-value';

function run(overrides: Partial<PipelineRun> = {}): PipelineRun {
  return {
    id: 7,
    service: 'web',
    status: 'failed',
    stage: 'accept',
    trigger: 'schedule',
    findings: [
      {
        service: 'web',
        digest: `sha256:${'a'.repeat(64)}` as Digest,
        kind: 'package-update',
        summary: 'tiny-bin 1.0 → 1.1 (CVE-2026-0001, high)',
        packages: [
          {
            name: 'tiny-bin',
            from: '1.0',
            to: '1.1',
            cvesFixed: ['CVE-2026-0001'],
            visibleAt: '2026-01-01T00:00:00Z',
          },
        ],
        cvesFixed: ['CVE-2026-0001'],
        security: true,
        urgency: 'high',
        visibleAt: '2026-01-01T00:00:00Z',
        detectedAt: '2026-01-01T00:00:05Z',
        actionable: true,
      },
    ],
    specDigest: `sha256:${'c'.repeat(64)}`,
    fromDigest: `sha256:${'a'.repeat(64)}` as Digest,
    digest: `sha256:${'b'.repeat(64)}` as Digest,
    createdAt: '2026-01-01T00:00:05Z',
    endedAt: '2026-01-01T00:01:00Z',
    error: 'accept: the candidate failed its acceptance checks',
    // A stage's output can quote what an instance answered, environment values included.
    stages: [
      { stage: 'accept', status: 'failed', startedAt: '2026-01-01T00:00:50Z', output: `GREETING=${secret}` },
    ],
    ...overrides,
  };
}

describe('the pipeline webhook', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  async function receiver(answer: (body: string) => number | 'hang') {
    const bodies: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        bodies.push(body);
        const status = answer(body);
        if (status === 'hang') return;
        response.writeHead(status).end();
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/herd?token=abc`, bodies };
  }

  it('names the run, its stage, its error and its findings, and never a stage output', () => {
    const body = pipelineWebhookBody(run());
    assert.equal(body.kind, 'herd.pipeline');
    assert.equal(body.run.stage, 'accept');
    assert.deepEqual(body.run.findings[0]?.cvesFixed, ['CVE-2026-0001']);
    assert.ok(!JSON.stringify(body).includes(secret));
    assert.equal(body.run.approve, undefined);
    assert.equal(
      pipelineWebhookBody(run({ status: 'awaiting-approval', stage: 'approve' })).run.approve,
      'herd approve 7',
    );
  });

  it('posts the body as JSON, and says false without throwing when the receiver refuses or hangs', async () => {
    const ok = await receiver(() => 204);
    const warnings: unknown[] = [];
    const log = { warn: (fields: unknown) => warnings.push(fields) };
    assert.equal(await postPipelineWebhook(ok.url, run(), { log }), true);
    assert.equal(JSON.parse(ok.bodies[0] ?? '{}').run.id, 7);

    const refusing = await receiver(() => 500);
    assert.equal(await postPipelineWebhook(refusing.url, run(), { log }), false);
    const hanging = await receiver(() => 'hang');
    assert.equal(await postPipelineWebhook(hanging.url, run(), { log, timeoutMs: 300 }), false);
    // Only the origin is logged: the path and query carry the receiver's token.
    assert.equal(warnings.length, 2);
    assert.ok(!JSON.stringify(warnings).includes('token=abc'));
  });

  it('says false for a webhook that is not a URL (HERD_WATCH_WEBHOOK is not checked), never rejecting', async () => {
    const warnings: unknown[] = [];

    const delivered = await postPipelineWebhook('alerts.example/herd', run(), {
      log: { warn: (fields: unknown) => warnings.push(fields) },
    });

    assert.equal(delivered, false);
    assert.equal(warnings.length, 1);
  });
});
