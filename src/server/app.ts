/**
 * herd's HTTP server, web-standard core: a Hono app that speaks Request/Response, so it runs
 * in-process in tests (`app.request()`) and under any adapter (node-server.ts for Node). Each area
 * mounts its routes from routes/; today that is the read-only OCI distribution endpoint at /v2/.
 * The fleet API and the dashboard will mount beside it.
 */
import { Hono } from 'hono';
import type { LayoutStore } from '../oci/layout-store.js';
import { type ServerLogger, silentLogger } from './logger.js';
import { distributionRoutes } from './routes/distribution.js';
import { type FleetApiOptions, fleetApiRoutes } from './routes/fleet-api.js';

export interface AppOptions {
  store: LayoutStore;
  logger?: ServerLogger;
  /** The fleet API, when a control plane runs (herd serve, herd up). */
  fleetApi?: FleetApiOptions;
}

export function createApp(options: AppOptions): Hono {
  const logger = options.logger ?? silentLogger;
  const app = new Hono();
  app.route('/', distributionRoutes({ store: options.store, logger }));
  if (options.fleetApi) app.route('/api/v1', fleetApiRoutes(options.fleetApi));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    logger.error({ path: c.req.path, error: error.message }, 'request failed');
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
