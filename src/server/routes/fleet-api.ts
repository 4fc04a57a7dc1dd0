/**
 * The fleet API under /api/v1, what `herd status`, `rollout`, `rollback`, `scale` and `logs` call
 * through HERD_URL. There is no exec, shell, copy-in or patch route, by design: instances are only
 * created and destroyed. HTTP statuses for herd's errors are chosen here.
 */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EngineError } from '../../engines/engine.js';
import { FleetError } from '../../fleet/errors.js';
import { FrontDoorError } from '../../fleet/front-door.js';
import { fleetTemplateFor } from '../../fleet/instance-spec.js';
import type { FleetTemplate } from '../../fleet/types.js';
import { HerdError } from '../../herd-error.js';
import { LogError } from '../../logs/errors.js';
import { isDigest, shortDigest } from '../../oci/digest.js';
import type { Digest } from '../../oci/types.js';
import { SpecError } from '../../spec/errors.js';
import { parseSpecText } from '../../spec/load.js';
import { TrustError } from '../../trust/errors.js';
import { WatchError } from '../../watch/errors.js';
import type { ControlPlane } from '../control-plane.js';
import type { ServerLogger } from '../logger.js';
import { followLogsResponse, logQueryFrom, queryLogs } from './log-api.js';

export interface FleetApiOptions {
  plane: ControlPlane;
  log: ServerLogger;
}

export function fleetApiRoutes(options: FleetApiOptions): Hono {
  const { plane, log } = options;
  const api = new Hono();

  api.get('/fleets', async (c) =>
    answer(c, log, async () => {
      const fleets = await plane.fleets();
      return Promise.all(fleets.services().map((service) => fleets.status(service)));
    }),
  );

  api.get('/fleets/:service', async (c) =>
    answer(c, log, async () => {
      const fleets = await plane.fleets();
      const service = c.req.param('service');
      return {
        ...(await fleets.status(service)),
        frontDoor: plane.frontDoors.get(service)?.url ?? null,
        history: fleets.history(service),
      };
    }),
  );

  api.post('/fleets/:service/rollout', async (c) =>
    answer(c, log, async () => {
      const body = (await c.req.json().catch(() => ({}))) as { digest?: string; spec?: unknown };
      if (typeof body.digest !== 'string' || !isDigest(body.digest)) {
        throw new FleetError('REQUEST_INVALID', 'expected a JSON body with "digest": "sha256:<64 hex>"');
      }
      const service = c.req.param('service');
      const digest = body.digest as Digest;
      const template = body.spec === undefined ? undefined : templateFromSpecText(service, body.spec);
      const fleets = await plane.fleets();
      // The door opens first, so a taken port refuses the rollout before anything changed; and
      // closes again when the rollout of a fleet that did not exist yet was refused.
      if (template) await plane.frontDoors.open(service, { port: template.fleet.port ?? 0 });
      try {
        await fleets.rollout(service, { release: shortDigest(digest), digest }, template ? { template } : {});
      } catch (error) {
        if (template && !fleets.templateOf(service)) await plane.frontDoors.close(service);
        throw error;
      }
      return { service, release: shortDigest(digest), digest };
    }),
  );

  api.post('/fleets/:service/rollback', async (c) =>
    answer(c, log, async () => {
      const good = await (await plane.fleets()).rollback(c.req.param('service'));
      return { service: c.req.param('service'), release: good.release, digest: good.digest };
    }),
  );

  api.post('/fleets/:service/scale', async (c) =>
    answer(c, log, async () => {
      const body = (await c.req.json().catch(() => ({}))) as { size?: unknown };
      if (typeof body.size !== 'number') {
        throw new FleetError('REQUEST_INVALID', 'expected a JSON body with "size": <number of instances>');
      }
      const size = body.size;
      await (await plane.fleets()).scale(c.req.param('service'), size);
      return { service: c.req.param('service'), size };
    }),
  );

  // From the log store (routes/log-api.ts): destroyed instances' lines included, no engine needed.
  api.get('/fleets/:service/logs', async (c) => {
    const query = () => logQueryFrom(c.req.param('service'), c.req.query(), Date.now());
    if (!c.req.query('follow')) return answer(c, log, () => queryLogs(plane.logs, query()));
    try {
      return followLogsResponse(plane.logs, query(), c.req.raw.signal);
    } catch (error) {
      return answer(c, log, () => Promise.reject(error));
    }
  });

  // The deep integrity check of one instance, now (`herd verify-instance`). It reads; it never changes.
  api.post('/instances/:id/verify', async (c) =>
    answer(c, log, async () => {
      const report = await (await plane.integrity()).monitor.verifyInstance(c.req.param('id'));
      return {
        ...report,
        findings: report.findings.map(({ observed, ...finding }) => ({
          ...finding,
          ...(observed?.sha256 ? { sha256: observed.sha256 } : {}),
        })),
      };
    }),
  );

  api.get('/incidents', async (c) =>
    answer(c, log, async () => {
      const service = c.req.query('service');
      return (await plane.integrity()).incidents.list(service ? { service } : {});
    }),
  );

  return api;
}

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

async function answer(c: Context, log: ServerLogger, work: () => Promise<unknown>) {
  try {
    return c.json(await work());
  } catch (error) {
    const status = statusOf(error);
    if (status === 500) log.error({ path: c.req.path, error: String(error) }, 'fleet request failed');
    const code = error instanceof HerdError ? error.code : 'INTERNAL';
    const message = error instanceof HerdError ? error.message : 'internal error';
    return c.json({ error: { code, message } }, status);
  }
}

function statusOf(error: unknown): ContentfulStatusCode {
  if (error instanceof TrustError) return 403;
  if (error instanceof SpecError) return 400;
  if (error instanceof WatchError) {
    if (error.code === 'INSTANCE_NOT_FOUND') return 404;
    return error.code === 'INSTANCE_AMBIGUOUS' ? 400 : 502;
  }
  if (error instanceof LogError) return 400;
  if (error instanceof FrontDoorError) return 409;
  if (error instanceof EngineError)
    return error.code === 'UNREACHABLE' || error.code === 'NOT_INSTALLED' ? 503 : 502;
  if (error instanceof FleetError) {
    if (error.code === 'FLEET_NOT_FOUND') return 404;
    if (error.code === 'NO_PREVIOUS_RELEASE') return 409;
    return 400;
  }
  return 500;
}
