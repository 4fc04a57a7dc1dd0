/**
 * The acceptance checks' decisions, pure: what an HTTP answer must be to pass a check, how each
 * check is named in a run's output, and what a detail may show of what came back (capped, and
 * never a value of the candidate's environment). The requests themselves are in
 * acceptance-probes.ts; the candidate's life in acceptance.ts.
 */
import type { AcceptCheck } from '../specfile/index.js';

export type { AcceptCheck };

/** What an HTTP check received: header names lowercased, the body read up to {@link maxBodyBytes}. */
export interface HttpAnswer {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface CheckJudgement {
  passed: boolean;
  /** What was expected and what came, in one line: `expected status 200, got 503`. */
  detail: string;
}

/** A body is read up to this many bytes and judged on those: matching cannot be interrupted. */
export const maxBodyBytes = 64 * 1024;

/** What a detail quotes of a body or a header value, at most. */
export const maxExcerptChars = 200;

/** Values shorter than this are not looked for in excerpts: `1` would blank every digit out. */
const minRedactedLength = 4;

/** How a check is named in the run's output: `GET :8080/healthz`, `tcp :5432`, `healthy within 60 s`. */
export function checkName(check: AcceptCheck): string {
  switch (check.kind) {
    case 'http':
      return `GET :${check.port}${check.path}`;
    case 'tcp':
      return `tcp :${check.port}`;
    case 'healthy':
      return `healthy within ${check.withinSeconds} s`;
    default:
      return assertNever(check);
  }
}

/**
 * Pure: whether `answer` passes `check`: the exact status, then each header pattern, then the body
 * pattern. The detail names the first thing that differed. `secrets` are values that must never
 * show in a detail (the candidate's environment): an excerpt shows `[redacted]` in their place.
 */
export function judgeHttpAnswer(
  check: Extract<AcceptCheck, { kind: 'http' }>,
  answer: HttpAnswer,
  options: { secrets?: readonly string[] } = {},
): CheckJudgement {
  const excerpt = (text: string) => quoted(text, options.secrets ?? []);
  if (answer.status !== check.status) {
    return { passed: false, detail: `expected status ${check.status}, got ${answer.status}` };
  }
  for (const [name, source] of Object.entries(check.headers)) {
    const pattern = compiled(source);
    if (!pattern) return { passed: false, detail: `header ${name}: pattern /${source}/ does not compile` };
    const received = answer.headers[name.toLowerCase()];
    if (received === undefined) {
      return { passed: false, detail: `header ${name} missing, expected one matching /${source}/` };
    }
    const value = Array.isArray(received) ? received.join(', ') : received;
    if (!pattern.test(value)) {
      return { passed: false, detail: `header ${name} did not match /${source}/: got ${excerpt(value)}` };
    }
  }
  if (check.body !== undefined) {
    const pattern = compiled(check.body);
    if (!pattern) return { passed: false, detail: `body: pattern /${check.body}/ does not compile` };
    if (!pattern.test(answer.body)) {
      return { passed: false, detail: `body did not match /${check.body}/: got ${excerpt(answer.body)}` };
    }
  }
  const matched = [
    `status ${answer.status}`,
    ...Object.keys(check.headers).map((name) => `header ${name}`),
    ...(check.body !== undefined ? ['body'] : []),
  ];
  return { passed: true, detail: `${matched.join(', ')} as expected` };
}

/**
 * A value quoted for a detail: secrets blanked first (so a cut cannot leave half of one), then cut
 * to {@link maxExcerptChars}, as JSON so control characters and quotes stay on one line.
 */
export function quoted(text: string, secrets: readonly string[]): string {
  const shown = redacted(text, secrets);
  if (shown.length <= maxExcerptChars) return JSON.stringify(shown);
  return `${JSON.stringify(shown.slice(0, maxExcerptChars))}… (${text.length} characters)`;
}

/** `text` with each of `secrets` (long enough to look for) shown as `[redacted]`. */
export function redacted(text: string, secrets: readonly string[]): string {
  let shown = text;
  // Longest first: a secret that contains another is blanked whole.
  const blanked = [...new Set(secrets)]
    .filter((secret) => secret.length >= minRedactedLength)
    .sort((a, b) => b.length - a.length);
  for (const secret of blanked) shown = shown.split(secret).join('[redacted]');
  return shown;
}

function compiled(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected acceptance check ${JSON.stringify(value)}`);
}
