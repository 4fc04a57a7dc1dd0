/**
 * The fleet API under /api/v1, what `herd status`, `rollout`, `rollback`, `scale`, `pause`, `resume`, `logs`,
 * `incidents` and `verify-instance` call. There is no exec, shell, copy-in or patch route, by
 * design: instances are only created and destroyed. The one way in, break-glass, is
 * debug-api.ts: admins only, journaled, recorded, and the instance destroyed after. Each route names the permission it needs
 * (../authenticate.ts) and validates its input with the schemas the CLI shares
 * (../api-schemas.ts); a mutation is journaled with the caller as its actor. The routes are
 * chained so that their types make the typed client (../api-client.ts).
 */
import { Hono } from 'hono';
import { actorOf } from '../../auth/index.js';
import type { Logger } from '../../common/index.js';
import type { FleetTemplate } from '../../fleet/index.js';
import { FleetError, fleetTemplateFor } from '../../fleet/index.js';
import { pauseFleet, resumeFleet, scaleFleet } from '../../pipeline/index.js';
import { parseSpecText } from '../../specfile/index.js';
import { answer } from '../api-answer.js';
import {
  IncidentsQuery,
  InstanceParams,
  LogsQuery,
  RolloutBody,
  ScaleBody,
  ServiceParams,
} from '../api-schemas.js';
import { type ApiEnv, requires } from '../authenticate.js';
import type { ControlPlane } from '../control-plane.js';
import { validate } from '../validate.js';
import { followLogsStream, logQueryFrom, ndjsonHeaders, queryLogs } from './log-api.js';
import { remediationTimesOf } from './pipeline-api.js';

export interface FleetApiOptions {
  plane: ControlPlane;
  log: Logger;
}

export function fleetApiRoutes(options: FleetApiOptions) {
  const { plane, log } = options;
  return (
    new Hono<ApiEnv>()
      .get('/fleets', requires('fleets:read'), (c) =>
        answer(c, log, async () => {
          const fleets = await plane.fleets();
          return Promise.all(fleets.services().map((service) => fleets.status(service)));
        }),
      )

      .get('/fleets/:service', requires('fleets:read'), validate('param', ServiceParams), (c) =>
        answer(c, log, async () => {
          const fleets = await plane.fleets();
          const { service } = c.req.valid('param');
          const status = await fleets.status(service);
          const remediation = await remediationTimesOf(plane, service, log);
          return {
            ...status,
            frontDoor: plane.frontDoors.get(service)?.url ?? null,
            history: fleets.history(service),
            ...(remediation ? { remediation } : {}),
          };
        }),
      )

      .post(
        '/fleets/:service/rollout',
        requires('fleets:rollout'),
        validate('param', ServiceParams),
        validate('json', RolloutBody),
        (c) =>
          answer(c, log, async () => {
            const { service } = c.req.valid('param');
            const { digest, spec } = c.req.valid('json');
            const template = spec === undefined ? undefined : templateFromSpecText(service, spec);
            const started = await plane.rollout(service, digest, {
              actor: actorOf(c.get('caller')),
              ...(template ? { template } : {}),
            });
            return { service, revision: started.revision, digest: started.digest };
          }),
      )

      .post('/fleets/:service/rollback', requires('fleets:rollback'), validate('param', ServiceParams), (c) =>
        answer(c, log, async () => {
          const { service } = c.req.valid('param');
          const good = await plane.rollback(service, { actor: actorOf(c.get('caller')) });
          return { service, revision: good.revision, digest: good.digest };
        }),
      )

      .post(
        '/fleets/:service/scale',
        requires('fleets:scale'),
        validate('param', ServiceParams),
        validate('json', ScaleBody),
        (c) =>
          answer(c, log, async () => {
            const { service } = c.req.valid('param');
            const { size } = c.req.valid('json');
            return scaleFleet(
              { fleets: () => plane.fleets() },
              { service, size, actor: actorOf(c.get('caller')) },
            );
          }),
      )

      // kubectl rollout pause|resume: the rollout waits (scaling and healing go on); kept in herd.db.
      .post('/fleets/:service/pause', requires('fleets:pause'), validate('param', ServiceParams), (c) =>
        answer(c, log, async () => {
          const { service } = c.req.valid('param');
          return pauseFleet({ fleets: () => plane.fleets() }, { service, actor: actorOf(c.get('caller')) });
        }),
      )

      .post('/fleets/:service/resume', requires('fleets:pause'), validate('param', ServiceParams), (c) =>
        answer(c, log, async () => {
          const { service } = c.req.valid('param');
          return resumeFleet({ fleets: () => plane.fleets() }, { service, actor: actorOf(c.get('caller')) });
        }),
      )

      // From the log store (routes/log-api.ts): destroyed instances' lines included, no engine needed.
      .get(
        '/fleets/:service/logs',
        requires('logs:read'),
        validate('param', ServiceParams),
        validate('query', LogsQuery),
        async (c) => {
          const { service } = c.req.valid('param');
          const params = c.req.valid('query');
          const query = () => logQueryFrom(service, params, Date.now());
          if (!params.follow) return answer(c, log, () => queryLogs(plane.logs, query()));
          try {
            return c.body(followLogsStream(plane.logs, query(), c.req.raw.signal), 200, ndjsonHeaders);
          } catch (error) {
            return answer(c, log, () => Promise.reject<never>(error));
          }
        },
      )

      // The deep integrity check of one instance, now (`herd verify-instance`). It reads, and a
      // changed instance is replaced, as the monitor would on its own.
      .post('/instances/:id/verify', requires('instances:verify'), validate('param', InstanceParams), (c) =>
        answer(c, log, async () => {
          const report = await (await plane.integrity()).monitor.verifyInstance(c.req.valid('param').id);
          return {
            ...report,
            findings: report.findings.map(({ observed, ...finding }) => ({
              ...finding,
              ...(observed?.sha256 ? { sha256: observed.sha256 } : {}),
            })),
          };
        }),
      )

      .get('/incidents', requires('incidents:read'), validate('query', IncidentsQuery), (c) =>
        answer(c, log, async () => {
          const { service } = c.req.valid('query');
          return (await plane.integrity()).incidents.list(service ? { service } : {});
        }),
      )
  );
}

export type FleetApi = ReturnType<typeof fleetApiRoutes>;

/**
 * A first rollout brings the service's herd.yaml as text, and the template is made here from the
 * validated spec: the API never takes a template as given, so a caller cannot smuggle in what the
 * spec schema would refuse (a writable root without saying so, a webhook with credentials).
 */
export function templateFromSpecText(service: string, text: unknown): FleetTemplate {
  if (typeof text !== 'string')
    throw new FleetError('REQUEST_INVALID', 'expected "spec" to be the text of herd.yaml');
  const spec = parseSpecText(text, `herd.yaml sent to roll out ${service}`);
  if (spec.service !== service) {
    throw new FleetError('REQUEST_INVALID', `the herd.yaml sent is for ${spec.service}, not ${service}`);
  }
  return fleetTemplateFor(spec, spec.fleet);
}
