/**
 * The remediation loop's notification: one JSON POST per run that ends or waits for approval, to
 * the fleet's `watch.webhook` (else herd's HERD_WATCH_WEBHOOK). The body is built field by field
 * from the run, so nothing a run may come to hold beyond these (stage output, environment values,
 * secrets) leaves herd by accident. Delivery is best effort: logged, never retried forever.
 */
import type { Logger } from '../common/index.js';
import { webhookOrigin } from '../watch/index.js';
import type { PipelineRun } from './remediation-types.js';

export interface PipelineWebhookBody {
  kind: 'herd.pipeline';
  run: {
    id: number;
    service: string;
    status: PipelineRun['status'];
    stage?: string;
    fromDigest: string;
    digest?: string;
    createdAt: string;
    endedAt?: string;
    error?: string;
    timeToRemediateMs?: number;
    findings: { kind: string; summary: string; cvesFixed: string[]; visibleAt: string }[];
    /** Set while the run waits: what to run to let it go on. */
    approve?: string;
  };
}

export function pipelineWebhookBody(run: PipelineRun): PipelineWebhookBody {
  return {
    kind: 'herd.pipeline',
    run: {
      id: run.id,
      service: run.service,
      status: run.status,
      ...(run.stage ? { stage: run.stage } : {}),
      fromDigest: run.fromDigest,
      ...(run.digest ? { digest: run.digest } : {}),
      createdAt: run.createdAt,
      ...(run.endedAt ? { endedAt: run.endedAt } : {}),
      ...(run.error ? { error: run.error } : {}),
      ...(run.timeToRemediateMs !== undefined ? { timeToRemediateMs: run.timeToRemediateMs } : {}),
      findings: run.findings.map((finding) => ({
        kind: finding.kind,
        summary: finding.summary,
        cvesFixed: finding.cvesFixed,
        visibleAt: finding.visibleAt,
      })),
      ...(run.status === 'awaiting-approval' ? { approve: `herd approve ${run.id}` } : {}),
    },
  };
}

export async function postPipelineWebhook(
  url: string,
  run: PipelineRun,
  options: { log: Pick<Logger, 'warn'>; timeoutMs?: number; fetch?: typeof fetch },
): Promise<boolean> {
  const send = options.fetch ?? fetch;
  // Only the origin is logged: webhook paths often carry the receiver's token.
  const origin = webhookOrigin(url);
  try {
    const answer = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(pipelineWebhookBody(run)),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      redirect: 'error',
    });
    // Nothing of the answer is read; left unread, it would hold its connection open.
    await answer.body?.cancel();
    if (answer.ok) return true;
    options.log.warn({ webhook: origin, status: answer.status, run: run.id }, 'the pipeline webhook refused');
  } catch (error) {
    options.log.warn(
      { webhook: origin, err: String(error), run: run.id },
      'the pipeline webhook did not answer',
    );
  }
  return false;
}
