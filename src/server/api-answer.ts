/**
 * A route's result as JSON, or herd's error in the API's one error shape with its HTTP status.
 * The statuses of herd's errors are chosen here, and nowhere else in the fleet API.
 */
import type { Context } from 'hono';
import { AuthError } from '../auth/index.js';
import type { Logger } from '../common/index.js';
import { DebugError } from '../debug/index.js';
import { EngineError } from '../engines/index.js';
import { FleetError, FrontDoorError } from '../fleet/index.js';
import { HerdError } from '../herd-error.js';
import { LogError } from '../logs/index.js';
import { PipelineError } from '../pipeline/index.js';
import { SpecError } from '../specfile/index.js';
import { TrustError } from '../trust/index.js';
import { WatchError } from '../watch/index.js';
import { type ApiErrorStatus, apiError } from './api-error.js';
import type { ApiEnv } from './authenticate.js';
import { ServerError } from './errors.js';

export async function answer<T extends object>(c: Context<ApiEnv>, log: Logger, work: () => Promise<T>) {
  try {
    return c.json(await work(), 200);
  } catch (error) {
    const status = statusOf(error);
    if (status === 500) log.error({ path: c.req.path, error: String(error) }, 'fleet request failed');
    const code = error instanceof HerdError ? error.code : 'INTERNAL';
    const message = error instanceof HerdError ? error.message : 'internal error';
    return c.json(apiError(code, message), status);
  }
}

export function statusOf(error: unknown): ApiErrorStatus {
  if (error instanceof TrustError) return 403;
  if (error instanceof SpecError) return 400;
  if (error instanceof AuthError) return authStatus[error.code];
  if (error instanceof WatchError) {
    if (error.code === 'INSTANCE_NOT_FOUND') return 404;
    return error.code === 'INSTANCE_AMBIGUOUS' ? 400 : 502;
  }
  if (error instanceof LogError) return 400;
  if (error instanceof DebugError) return debugStatus[error.code];
  if (error instanceof FrontDoorError) return 409;
  if (error instanceof EngineError)
    return error.code === 'UNREACHABLE' || error.code === 'NOT_INSTALLED' ? 503 : 502;
  if (error instanceof FleetError) {
    if (error.code === 'FLEET_NOT_FOUND') return 404;
    if (error.code === 'NO_PREVIOUS_REVISION') return 409;
    return 400;
  }
  if (error instanceof PipelineError) return pipelineStatus[error.code];
  if (error instanceof ServerError && error.code === 'REMEDIATION_NOT_RUNNING') return 503;
  return 500;
}

const pipelineStatus: Record<PipelineError['code'], ApiErrorStatus> = {
  RUN_NOT_FOUND: 404,
  RUN_NOT_AWAITING_APPROVAL: 409,
  ROLLOUT_FAILED: 409,
  SPEC_UNTRUSTED: 409,
  SPEC_CHANGED: 409,
};

const debugStatus: Record<DebugError['code'], ApiErrorStatus> = {
  INSTANCE_NOT_FOUND: 404,
  INSTANCE_AMBIGUOUS: 400,
  ALREADY_DEBUGGING: 409,
  PROGRAM_MISSING: 400,
  SESSION_FAILED: 502,
  FRAME_INVALID: 400,
};

const authStatus: Record<AuthError['code'], ApiErrorStatus> = {
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  RATE_LIMITED: 429,
  FORBIDDEN: 403,
  TOKEN_NOT_FOUND: 404,
  TOKEN_NAME_INVALID: 400,
  TOKEN_NAME_TAKEN: 409,
};
