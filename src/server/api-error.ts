/**
 * The one error body of the fleet API, whoever refuses a request (authentication, a role, the body
 * limit, a route's schema or the area behind it): `{ "error": { "code", "message" } }`. The code is
 * the HerdError code, so clients and tests branch on it, never on the message. /v2/ answers in the
 * OCI distribution spec's own shape instead (routes/distribution.ts).
 */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** The statuses the fleet API refuses with; a literal union, so the typed client can tell ok from not. */
export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 426 | 429 | 500 | 502 | 503;

export function apiError(code: string, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** The largest request body the fleet API reads: a herd.yaml is a few KiB. */
export const maxApiBodyBytes = 256 * 1024;
