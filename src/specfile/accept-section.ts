/**
 * herd.yaml's `accept:` list: the acceptance checks a candidate instance of a new image must pass,
 * apart from the fleet, before the remediation loop releases it (HTTP requests with an expected
 * status, header and body patterns; TCP connects; a wait for healthy). The schema is the untrusted
 * edge (every field says what it expects, unknown fields are errors) and its output, a list of
 * `AcceptCheck`, carries every default. The checks run in src/pipeline; whether a port is one the
 * spec declares is checked with the whole spec, in schema.ts (`acceptPortProblems`).
 */
import { z } from 'zod';
import { describeValue } from './errors.js';
import { regexPatternProblem } from './regex-pattern.js';
import {
  atKey,
  duration,
  expecting,
  fields,
  isMapping,
  listOf,
  optional,
  pattern,
  wholeNumber,
} from './schema-fields.js';

/**
 * One acceptance check. Header values and `body` are regular expressions in JavaScript syntax,
 * compiled without flags (`new RegExp(pattern)`) and matched anywhere in the value unless anchored;
 * each compiles, is at most 1024 characters and has no unbounded repetition of a repetition.
 * Matching cannot be interrupted, so whoever matches a body should cap the bytes it reads.
 */
export type AcceptCheck =
  | {
      kind: 'http';
      /** A TCP port the spec declares in `ports`. */
      port: number;
      /** Starts with `/`; sent as written in a GET request. */
      path: string;
      /** The exact status expected (200 by default). */
      status: number;
      /** Header names, lowercased, to the pattern their value must match. */
      headers: Record<string, string>;
      /** A pattern the response body must match; absent means any body. */
      body?: string;
      timeoutSeconds: number;
    }
  | { kind: 'tcp'; port: number; timeoutSeconds: number }
  /** The candidate passes the spec's `health:` check within this long (ready at once without one). */
  | { kind: 'healthy'; withinSeconds: number };

/** When `accept:` is absent: no checks of its own; a candidate is still waited on until healthy. */
export const defaultAcceptChecks: readonly AcceptCheck[] = [];

/** More checks than this is a pasted document, not a test plan. */
export const maxAcceptChecks = 32;
const maxHeaderChecks = 32;
const maxPathLength = 2048;

const defaultStatus = 200;
const defaultTimeoutSeconds = 5;
const defaultWithinSeconds = 60;

const portNumber = wholeNumber('a port number from 1 to 65535', { min: 1, max: 65_535 });

const Timeout = duration('a duration above zero up to 60s such as 2s or 5s', { max: 60 });

/** A regular expression that compiles, within bounds (regex-pattern.ts). */
const RegexPattern = z
  .string(expecting('a regular expression (a string) such as "^text/plain"'))
  .superRefine((value, ctx) => {
    const problem = regexPatternProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
  });

/** An HTTP field name is a token (RFC 9110 §5.1, §5.6.2); names are case-insensitive, so lowercased. */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Each name a token, each once whatever its case, at most 32 of them; reported with every other problem. */
function checkHeaderNames(headers: unknown, ctx: z.RefinementCtx): void {
  if (!isMapping(headers)) return;
  const names = Object.keys(headers);
  if (names.length > maxHeaderChecks) {
    ctx.addIssue({
      code: 'custom',
      input: headers,
      message: `expected at most ${maxHeaderChecks} headers, got ${names.length}`,
    });
  }
  const seen = new Map<string, string>();
  for (const name of names) {
    if (!headerNamePattern.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        input: name,
        params: atKey,
        message: `expected a header name (letters, digits and !#$%&'*+-.^_\`|~) such as content-type, got ${describeValue(name)}`,
      });
      continue;
    }
    const lower = name.toLowerCase();
    const earlier = seen.get(lower);
    if (earlier !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        input: name,
        params: atKey,
        message: `header ${JSON.stringify(lower)} is listed twice (also as ${JSON.stringify(earlier)}); header names are case-insensitive`,
      });
    }
    seen.set(lower, name);
  }
}

/**
 * A record drops a `__proto__` key without a word (it would set the prototype), and a check the
 * user wrote must never vanish: that one key is refused on the mapping as written. It is no
 * header anyone sends.
 */
function refuseProtoKey(headers: unknown, ctx: z.RefinementCtx): unknown {
  if (isMapping(headers) && Object.hasOwn(headers, '__proto__')) {
    ctx.addIssue({
      code: 'custom',
      path: ['__proto__'],
      input: '__proto__',
      params: atKey,
      message: 'expected a header name such as content-type, got "__proto__"',
    });
  }
  return headers;
}

const Headers = z
  .preprocess(
    refuseProtoKey,
    z
      .record(z.string(), RegexPattern, expecting('a mapping of header names to patterns'))
      .check(z.superRefine(checkHeaderNames, { when: () => true })),
  )
  .transform((headers) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
  );

const Http = fields(
  {
    path: pattern(
      new RegExp(`^/[\\x21-\\x7e]{0,${maxPathLength - 1}}$`),
      `an absolute URL path of printable characters without spaces, at most ${maxPathLength} long, such as /healthz`,
    ),
    port: portNumber,
    status: optional(wholeNumber('an HTTP status from 100 to 599', { min: 100, max: 599 })),
    headers: optional(Headers),
    body: optional(RegexPattern),
    timeout: optional(Timeout),
  },
  'a mapping with path, port, status, headers, body and timeout',
);

const Tcp = fields({ port: portNumber, timeout: optional(Timeout) }, 'a mapping with port and timeout');

const Healthy = fields(
  { within: optional(duration('a duration above zero up to 10m such as 30s or 2m', { max: 600 })) },
  'a mapping with within, or {} for the default 60s',
);

const checkKinds = ['http', 'tcp', 'healthy'] as const;

const AcceptCheckField = fields(
  { http: optional(Http), tcp: optional(Tcp), healthy: optional(Healthy) },
  'a mapping with one of http, tcp or healthy',
)
  .superRefine((raw, ctx) => {
    const given = checkKinds.filter((kind) => raw[kind] !== undefined);
    if (given.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      input: raw,
      message: `expected exactly one of http, tcp or healthy (healthy: {} waits 60s), got ${given.length === 0 ? 'none' : given.join(' and ')}`,
    });
  })
  .transform((raw): AcceptCheck => {
    if (raw.http) {
      return {
        kind: 'http',
        port: raw.http.port,
        path: raw.http.path,
        status: raw.http.status ?? defaultStatus,
        headers: raw.http.headers ?? {},
        ...(raw.http.body !== undefined ? { body: raw.http.body } : {}),
        timeoutSeconds: raw.http.timeout ?? defaultTimeoutSeconds,
      };
    }
    if (raw.tcp)
      return { kind: 'tcp', port: raw.tcp.port, timeoutSeconds: raw.tcp.timeout ?? defaultTimeoutSeconds };
    // The refinement above leaves healthy as the only other case.
    return { kind: 'healthy', withinSeconds: raw.healthy?.within ?? defaultWithinSeconds };
  });

/** The `accept:` list as written in herd.yaml; its output is the spec's `accept`. */
export const AcceptChecks = listOf(AcceptCheckField, 'a list of acceptance checks').max(
  maxAcceptChecks,
  expecting(
    (input) =>
      `expected at most ${maxAcceptChecks} acceptance checks, got ${Array.isArray(input) ? input.length : describeValue(input)}`,
  ),
);

/**
 * Every http or tcp check's port must be a TCP port the spec declares: the candidate is reached on
 * its declared ports only. One problem per check, at its port, naming the declared ones.
 */
export function acceptPortProblems(
  checks: readonly AcceptCheck[],
  ports: readonly { port: number; protocol: 'tcp' | 'udp' }[],
): { path: (string | number)[]; port: number; message: string }[] {
  const tcpPorts = ports.filter((spec) => spec.protocol === 'tcp').map((spec) => spec.port);
  const expected =
    tcpPorts.length > 0
      ? `one of the declared tcp ports (${tcpPorts.join(', ')})`
      : 'a tcp port declared in ports, which declares none';
  return checks.flatMap((check, index) => {
    if (check.kind === 'healthy' || tcpPorts.includes(check.port)) return [];
    return [
      {
        path: [index, check.kind, 'port'],
        port: check.port,
        message: `expected ${expected}, got ${check.port}; add it to ports or check a declared port`,
      },
    ];
  });
}
