/**
 * The remediation loop's routes under /api/v1, what `herd check`, `herd pipeline` and `herd
 * approve` call: check now, the runs newest first, one run with its stages, their output, and the
 * approval of a run held at its approve stage. The loop itself (src/pipeline) starts the runs and
 * journals what they do; these routes only ask it, with the caller as the actor. Chained, so their
 * types make the typed client (../api-client.ts).
 */
import { Hono } from 'hono';
import { actorOf } from '../../auth/index.js';
import type { Logger } from '../../common/index.js';
import {
  PipelineError,
  type PipelineRun,
  type Remediation,
  type RemediationTimes,
} from '../../pipeline/index.js';
import { answer } from '../api-answer.js';
import { CheckBody, defaultRunsListed, PipelineQuery, RunParams } from '../api-schemas.js';
import { type ApiEnv, requires } from '../authenticate.js';
import type { ControlPlane } from '../control-plane.js';
import { ServerError } from '../errors.js';
import { validate } from '../validate.js';

export interface PipelineApiOptions {
  plane: ControlPlane;
  log: Logger;
}

export function pipelineApiRoutes(options: PipelineApiOptions) {
  const { plane, log } = options;
  return (
    new Hono<ApiEnv>()
      // The monitor's check, now: runs start for what it finds, as the spec's policy says.
      .post('/check', requires('pipeline:run'), validate('json', CheckBody), (c) =>
        answer(c, log, async () => {
          const { service } = c.req.valid('json');
          const remediation = await plane.remediation();
          return remediation.check({ ...(service ? { service } : {}), actor: actorOf(c.get('caller')) });
        }),
      )

      .get('/pipeline', requires('pipeline:read'), validate('query', PipelineQuery), (c) =>
        answer(c, log, async () => {
          const { service, limit } = c.req.valid('query');
          const remediation = await plane.remediation();
          return remediation.runs({
            ...(service ? { service } : {}),
            limit: limit === undefined ? defaultRunsListed : Number(limit),
          });
        }),
      )

      .get('/pipeline/:id', requires('pipeline:read'), validate('param', RunParams), (c) =>
        answer(c, log, async () => existingRun(await plane.remediation(), Number(c.req.valid('param').id))),
      )

      // Each stage's output, which `herd pipeline show` leaves out: it can be long.
      .get('/pipeline/:id/logs', requires('pipeline:read'), validate('param', RunParams), (c) =>
        answer(c, log, async () => {
          const run = existingRun(await plane.remediation(), Number(c.req.valid('param').id));
          return {
            id: run.id,
            stages: run.stages.map(({ stage, status, durationMs, output }) => ({
              stage,
              status,
              ...(durationMs !== undefined ? { durationMs } : {}),
              output,
            })),
          };
        }),
      )

      .post('/pipeline/:id/approve', requires('pipeline:run'), validate('param', RunParams), (c) =>
        answer(c, log, async () => {
          const id = Number(c.req.valid('param').id);
          const remediation = await plane.remediation();
          existingRun(remediation, id);
          return remediation.approve(id, { actor: actorOf(c.get('caller')) });
        }),
      )
  );
}

export type PipelineApi = ReturnType<typeof pipelineApiRoutes>;

function existingRun(remediation: Remediation, id: number): PipelineRun {
  const run = remediation.run(id);
  if (!run) throw new PipelineError('RUN_NOT_FOUND', `no pipeline run ${id}: herd pipeline ls lists them`);
  return run;
}

/**
 * A fleet's time-to-remediate for its status answer, or nothing when no remediation loop runs:
 * the status of a fleet must not fail for want of it.
 */
export async function remediationTimesOf(
  plane: ControlPlane,
  service: string,
  log: Logger,
): Promise<RemediationTimes | undefined> {
  try {
    return (await plane.remediation()).times(service);
  } catch (error) {
    if (!(error instanceof ServerError && error.code === 'REMEDIATION_NOT_RUNNING')) {
      log.warn({ service, error: String(error) }, 'fleet status without time-to-remediate');
    }
    return undefined;
  }
}
