/**
 * herd's HTTP server, web-standard core: a Hono app that speaks Request/Response, so it runs
 * in-process in tests (`app.request(path, init, { connection })`) and under any adapter
 * (node-server.ts for Node, which says in `connection` how each request arrived). It mounts the
 * read-only OCI distribution endpoint at /v2/ and, when a control plane runs, the fleet API at
 * /api/v1 (api-routes.ts), where every call needs a caller.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { TokenVerifier } from '../auth/index.js';
import { FailureLimiter } from '../auth/index.js';
import { type Logger, silentLogger } from '../common/index.js';
import type { LayoutStore } from '../oci/index.js';
import { apiError } from './api-error.js';
import { apiRoutes } from './api-routes.js';
import { type ApiEnv, authenticatePulls } from './authenticate.js';
import { distributionRoutes } from './routes/distribution.js';
import type { FleetApiOptions } from './routes/fleet-api.js';

export interface AppOptions {
  store: LayoutStore;
  logger?: Logger;
  /** The fleet API, when a control plane runs (herd serve, herd up). */
  fleetApi?: FleetApiOptions;
  /**
   * When given, /v2/ needs a token with `images:pull` too (`herd serve --v2-auth token`); these
   * are the tokens it accepts. Open otherwise.
   */
  pullTokens?: TokenVerifier;
  /** Invalid tokens per client address, one count for /api and /v2/ alike. */
  limiter?: FailureLimiter;
}

export function createApp(options: AppOptions): Hono<ApiEnv> {
  const logger = options.logger ?? silentLogger;
  const limiter = options.limiter ?? new FailureLimiter();
  const app = new Hono<ApiEnv>();
  if (options.pullTokens) {
    const gate = authenticatePulls({ tokens: options.pullTokens, limiter });
    app.use('/v2', gate);
    app.use('/v2/*', gate);
  }
  app.route('/', distributionRoutes({ store: options.store, logger }));
  if (options.fleetApi) app.route('/api/v1', apiRoutes({ ...options.fleetApi, limiter }));
  app.notFound((c) => c.json(apiError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((error, c) => {
    // Hono's own refusals, such as a body that is not JSON.
    if (error instanceof HTTPException && error.status < 500) {
      return c.json(apiError('REQUEST_INVALID', error.message.toLowerCase()), error.status);
    }
    logger.error({ path: c.req.path, error: error.message }, 'request failed');
    return c.json(apiError('INTERNAL', 'internal error'), 500);
  });
  return app;
}
