/**
 * The typed client of the fleet API, made by Hono's RPC client (`hc`) from the routes' own types
 * (api-routes.ts), so a response's type is what the route returns and nothing is cast. The CLI and
 * the tests use it alike: over the control plane's Unix socket (no token, the local user), over
 * TCP with a token (HERD_URL, HERD_TOKEN), or in-process around `app.request`.
 *
 *   const api = apiClient({ kind: 'socket', socketPath });
 *   const status = await unwrap(api.fleets[':service'].$get({ param: { service: 'hello' } }));
 */
import { type ClientResponse, hc } from 'hono/client';
import type { SuccessStatusCode } from 'hono/utils/http-status';
import type { ApiErrorBody } from './api-error.js';
import type { ApiRoutes } from './api-routes.js';
import { ServerError } from './errors.js';
import { unixSocketFetch } from './unix-socket-fetch.js';

export type ApiTarget =
  | { kind: 'socket'; socketPath: string }
  | { kind: 'url'; url: string; token?: string }
  /** Any fetch, e.g. an app's `request` in tests; `origin` only fills in the URL. */
  | { kind: 'fetch'; fetch: typeof fetch; token?: string };

export function apiClient(target: ApiTarget) {
  const base = (origin: string) => `${origin.replace(/\/+$/, '')}/api/v1`;
  switch (target.kind) {
    case 'socket':
      return hc<ApiRoutes>(base('http://localhost'), { fetch: unixSocketFetch(target.socketPath) });
    case 'url':
      return hc<ApiRoutes>(base(target.url), { headers: bearer(target.token) });
    case 'fetch':
      return hc<ApiRoutes>(base('http://herd.test'), { fetch: target.fetch, headers: bearer(target.token) });
  }
}

export type ApiClient = ReturnType<typeof apiClient>;

/** Where a target points, for messages. */
export function describeTarget(target: ApiTarget): string {
  switch (target.kind) {
    case 'socket':
      return target.socketPath;
    case 'url':
      return target.url;
    case 'fetch':
      return 'the app in this process';
  }
}

/** The body of a 2xx answer, typed as the route returns it. */
export type Success<R> =
  R extends ClientResponse<infer Body, infer Status, 'json'>
    ? [Status] extends [SuccessStatusCode]
      ? Body
      : never
    : never;

/**
 * Awaits a call and returns its success body, or throws ServerError('API_REFUSED') with the
 * server's own code (`apiCode`), status and message; API_UNREACHABLE when nothing answered.
 */
export async function unwrap<R extends ClientResponse<unknown, number, string>>(
  call: Promise<R>,
  where = 'the control plane',
): Promise<Success<R>> {
  let response: R;
  try {
    response = await call;
  } catch (error) {
    throw new ServerError(
      'API_UNREACHABLE',
      `no control plane answers at ${where}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (response.ok) return (await response.json()) as Success<R>;
  const body = (await response.json().catch(() => undefined)) as Partial<ApiErrorBody> | undefined;
  throw new ApiRefusal(
    response.status,
    body?.error ?? { code: 'UNKNOWN', message: `${where} answered ${response.status}` },
  );
}

/** A call the control plane refused: its status and its `{ code, message }`. */
export class ApiRefusal extends ServerError {
  readonly status: number;
  readonly apiCode: string;

  constructor(status: number, error: ApiErrorBody['error']) {
    super('API_REFUSED', error.message);
    this.status = status;
    this.apiCode = error.code;
  }
}

function bearer(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}
