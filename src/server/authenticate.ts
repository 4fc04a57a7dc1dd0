/**
 * Who is calling, and may they: the fleet API's gate, and /v2/'s when `herd serve --v2-auth token`.
 *
 * The adapter (node-server.ts) says how a request arrived. Over the control plane's Unix socket
 * (mode 0600, so only the user who started it, or root, can connect) the caller is that local
 * user, with every permission. Over TCP the caller is the token in `Authorization: Bearer <token>`
 * (or the password of `Basic`, which is how registry clients send credentials). A request without
 * a connection binding (app.request() in tests) counts as TCP from an unknown address: nothing is
 * trusted by default. Each route then names the one permission it needs (`requires`).
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthErrorCode, Caller, FailureLimiter, TokenVerifier } from '../auth/index.js';
import { actorOf, callerCan, clientKeyOf, type Permission, roleGrants, roles } from '../auth/index.js';
import { apiError } from './api-error.js';
import type { UpgradeSocket } from './upgrade.js';

/** How a request reached the server; set by the Node adapter. */
export type Connection = { transport: 'unix'; user: string } | { transport: 'tcp'; remoteAddress: string };

export interface ApiEnv {
  /** `upgrade`: the socket of a request that asked to upgrade (upgrade.ts), for the debug route. */
  Bindings: { connection?: Connection; upgrade?: UpgradeSocket };
  Variables: { caller: Caller };
}

export interface CallerCheck {
  tokens: TokenVerifier;
  limiter: FailureLimiter;
}

export type Identification =
  | { kind: 'caller'; caller: Caller }
  | { kind: 'refused'; status: 401 | 429; code: AuthErrorCode; message: string; retryAfterSeconds?: number };

/**
 * The decision, apart from HTTP: the caller, or why not. Every invalid token counts against its
 * address, and an address over the limit is refused before its token is even looked at.
 */
export function identify(
  connection: Connection | undefined,
  authorization: string | undefined,
  check: CallerCheck,
): Identification {
  if (connection?.transport === 'unix')
    return { kind: 'caller', caller: { kind: 'local', user: connection.user } };
  const address = connection?.remoteAddress ?? 'unknown';
  const client = clientKeyOf(address);
  const retryAfterSeconds = check.limiter.retryAfterSeconds(client);
  if (retryAfterSeconds !== undefined) {
    return {
      kind: 'refused',
      status: 429,
      code: 'RATE_LIMITED',
      message: `too many invalid tokens from ${address}: try again in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    };
  }
  const presented = presentedToken(authorization);
  if (presented === undefined) {
    return {
      kind: 'refused',
      status: 401,
      code: 'TOKEN_MISSING',
      message:
        'a call over TCP needs a token: expected Authorization: Bearer <token> (herd token create; HERD_TOKEN for the CLI), or use the control plane socket',
    };
  }
  const caller = check.tokens.verify(presented);
  if (caller) return { kind: 'caller', caller };
  check.limiter.recordFailure(client);
  return {
    kind: 'refused',
    status: 401,
    code: 'TOKEN_INVALID',
    message: 'the token sent is not valid: it is malformed, unknown or revoked',
  };
}

/** The token from `Bearer <token>`, or from `Basic base64(<any user>:<token>)`. */
export function presentedToken(authorization: string | undefined): string | undefined {
  const [scheme = '', value = ''] = (authorization ?? '').trim().split(/\s+/, 2);
  if (value === '') return undefined;
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** The fleet API's gate: sets `caller`, or answers 401/429 in the API's error shape. */
export function authenticate(check: CallerCheck): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const outcome = identify(c.env?.connection, c.req.header('authorization'), check);
    if (outcome.kind === 'refused') {
      return refuse(c, outcome, {
        body: apiError(outcome.code, outcome.message),
        challenge: 'Bearer realm="herd"',
      });
    }
    c.set('caller', outcome.caller);
    await next();
  };
}

/** 403 FORBIDDEN unless the caller's role grants `permission`. */
export function requires(permission: Permission): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const caller = c.get('caller');
    if (!callerCan(caller, permission)) {
      const least = roles.find((role) => roleGrants(role, permission));
      const role = caller.kind === 'token' ? caller.role : 'local';
      return c.json(
        apiError(
          'FORBIDDEN',
          `${actorOf(caller)} (role ${role}) may not ${permission}: expected a token with the ${least} role or above`,
        ),
        403,
      );
    }
    await next();
  };
}

/**
 * /v2/'s gate when pulls need a token: the same decision, answered as a registry answers, with
 * the OCI spec's error shape and a Basic challenge so podman and skopeo send their credentials.
 */
export function authenticatePulls(check: CallerCheck): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const outcome = identify(c.env?.connection, c.req.header('authorization'), check);
    if (outcome.kind === 'refused') {
      const code = outcome.status === 429 ? 'TOOMANYREQUESTS' : 'UNAUTHORIZED';
      const body = { errors: [{ code, message: outcome.message }] };
      return refuse(c, outcome, { body, challenge: 'Basic realm="herd"' });
    }
    if (!callerCan(outcome.caller, 'images:pull')) {
      const body = {
        errors: [{ code: 'DENIED', message: `${actorOf(outcome.caller)} may not images:pull` }],
      };
      return c.json(body, 403);
    }
    c.set('caller', outcome.caller);
    await next();
  };
}

function refuse(
  c: Context<ApiEnv>,
  outcome: Extract<Identification, { kind: 'refused' }>,
  answer: { body: object; challenge: string },
) {
  if (outcome.status === 401) c.header('WWW-Authenticate', answer.challenge);
  if (outcome.retryAfterSeconds !== undefined) c.header('Retry-After', String(outcome.retryAfterSeconds));
  return c.json(answer.body, outcome.status);
}
