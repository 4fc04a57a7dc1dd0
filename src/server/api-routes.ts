/**
 * Everything under /api/v1, in the order a request meets it: who is calling (authenticate.ts),
 * the body limit, then the route, which names its permission and validates its input. Mounted by
 * app.ts; its type is what the typed client (api-client.ts) is made from.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../common/index.js';
import { apiError, maxApiBodyBytes } from './api-error.js';
import { type ApiEnv, authenticate, type CallerCheck } from './authenticate.js';
import type { ControlPlane } from './control-plane.js';
import { debugApiRoutes } from './routes/debug-api.js';
import { fleetApiRoutes } from './routes/fleet-api.js';
import { journalApiRoutes } from './routes/journal-api.js';
import { pipelineApiRoutes } from './routes/pipeline-api.js';
import { tokenApiRoutes } from './routes/token-api.js';

export interface ApiRoutesOptions {
  plane: ControlPlane;
  log: Logger;
  limiter: CallerCheck['limiter'];
}

export function apiRoutes(options: ApiRoutesOptions) {
  const { plane, log, limiter } = options;
  return (
    new Hono<ApiEnv>()
      .use('*', authenticate({ tokens: plane.tokens, limiter }))
      // Counted as the body streams in, so a 100 MB body is refused after 256 KiB (or at once, by
      // its Content-Length) and never held in memory. The Node adapter then discards what still
      // comes (64 MiB or 500 ms at most) before it closes, so the client reads the 413 first.
      .use(
        '*',
        bodyLimit({
          maxSize: maxApiBodyBytes,
          onError: (c) =>
            c.json(
              apiError(
                'BODY_TOO_LARGE',
                `request body over ${maxApiBodyBytes / 1024} KiB: the fleet API takes a herd.yaml, not more`,
              ),
              413,
            ),
        }),
      )
      .route('/', fleetApiRoutes({ plane, log }))
      .route('/', debugApiRoutes({ plane, log }))
      .route('/', tokenApiRoutes({ tokens: plane.tokens, log }))
      .route('/', journalApiRoutes({ journal: plane.journal, log }))
      .route('/', pipelineApiRoutes({ plane, log }))
  );
}

export type ApiRoutes = ReturnType<typeof apiRoutes>;
