/**
 * What the fleet API accepts, as zod schemas: each route validates its params, query and body
 * with them (400 REQUEST_INVALID naming the field), and the CLI checks its arguments with the same
 * ones before it sends anything, so both ends agree on what a request is.
 */
import { z } from 'zod';
import { roles, tokenNamePattern } from '../auth/index.js';
import type { Digest } from '../oci/index.js';
import { isDigest } from '../oci/index.js';
import { serviceNamePattern } from '../specfile/index.js';

export const ServiceName = z
  .string()
  .regex(serviceNamePattern, 'expected a service name: lowercase letters, digits and "-", at most 63 long');

export const DigestText = z.custom<Digest>(
  (value) => typeof value === 'string' && isDigest(value),
  'expected a digest sha256:<64 hex digits>',
);

export const ServiceParams = z.object({ service: ServiceName });

/** A rollout: the digest, and for a fleet's first rollout (or a new template) the herd.yaml text. */
export const RolloutBody = z.object({
  digest: DigestText,
  spec: z.string('expected the text of herd.yaml').optional(),
});

export const ScaleBody = z.object({
  size: z
    .number('expected a number of instances')
    .int('expected a whole number of instances')
    .min(0, 'expected 0 to 10000 instances')
    .max(10_000, 'expected 0 to 10000 instances'),
});

/** An instance id or a prefix of one, as the engine shows them. */
export const InstanceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected an instance id or its prefix');

export const InstanceParams = z.object({ id: InstanceId });

/** `since` and `grep` are judged by src/logs (LogError), which says what was wrong with them. */
export const LogsQuery = z.object({
  instance: InstanceId.optional(),
  since: z.string().max(64, 'expected a duration such as 10m, or an ISO 8601 time').optional(),
  grep: z.string().optional(),
  tail: z
    .string()
    .regex(/^\d{1,5}$/, 'expected a number of lines')
    .optional(),
  follow: z.enum(['1', 'true'], 'expected follow=1').optional(),
});

/** One line of `logs?follow=1`'s NDJSON stream (routes/log-api.ts `LogLineView`), as a client reads it. */
export const LogLine = z.object({
  time: z.string(),
  service: z.string(),
  instance: z.string(),
  revision: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
});

export const IncidentsQuery = z.object({ service: ServiceName.optional() });

export const JournalQuery = z.object({
  service: ServiceName.optional(),
  since: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time' }).optional(),
  limit: z
    .string()
    .regex(/^\d{1,5}$/, 'expected a number of entries')
    .refine((text) => Number(text) <= 10_000, 'expected at most 10000 entries')
    .optional(),
});

/** `herd check`: one fleet, or every fleet with a registered spec. */
export const CheckBody = z.object({ service: ServiceName.optional() });

/** The most runs one `GET /pipeline` answers with, and how many when the caller does not say. */
export const maxRunsListed = 1000;
export const defaultRunsListed = 50;

export const PipelineQuery = z.object({
  service: ServiceName.optional(),
  limit: z
    .string()
    .regex(/^\d{1,5}$/, 'expected a number of runs')
    .refine(
      (text) => Number(text) >= 1 && Number(text) <= maxRunsListed,
      `expected 1 to ${maxRunsListed} runs`,
    )
    .optional(),
});

/**
 * A pipeline run by its id, a whole number from 1 (`herd pipeline ls` shows it). Kept as text, as
 * the typed client sends it; the route reads the number.
 */
export const RunParams = z.object({
  id: z.string().regex(/^[1-9]\d{0,14}$/, 'expected a run id: a whole number from 1'),
});

export const TokenName = z
  .string()
  .regex(tokenNamePattern, 'expected lowercase letters, digits, ".", "_" and "-", at most 63 long');

export const TokenCreateBody = z.object({
  role: z.enum(roles, `expected one of ${roles.join(', ')}`),
  name: TokenName.optional(),
});

/** A token's id or name. */
export const TokenParams = z.object({ ref: z.string().min(1).max(63) });

/** A debug session may last at most an hour: break-glass, not a place to work. */
export const maxDebugTtlSeconds = 3600;

const wholeText = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `expected ${what}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `expected ${what} from ${min} to ${max}`);

/**
 * `POST /instances/:id/debug`'s query (its body is the session itself, after the upgrade): why,
 * for how long, and what to run (exec form, the program an absolute path; default /bin/sh).
 */
export const DebugQuery = z.object({
  reason: z
    .string('expected a reason')
    .trim()
    .min(3, 'expected a reason of at least 3 characters: say why, it goes into the journal')
    .max(500, 'expected a reason of at most 500 characters')
    .refine(
      (text) => ![...text].some((char) => (char.codePointAt(0) ?? 0) < 0x20 || char === '\x7f'),
      'expected one line of text without control characters',
    ),
  ttl: wholeText('a time to live in seconds', 1, maxDebugTtlSeconds),
  command: z
    .union([z.string(), z.array(z.string())])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .refine((words) => words.length >= 1 && words.length <= 64, 'expected 1 to 64 words')
    .refine(
      (words) => words.every((word) => word.length <= 4096 && !word.includes('\0')),
      'expected words without NUL, each at most 4096 bytes',
    )
    .refine(
      (words) => /^\/[^\0]*$/.test(words[0] ?? ''),
      'expected the program as an absolute path such as /bin/sh',
    )
    .optional(),
  tty: z.enum(['0', '1'], 'expected tty=0 or tty=1').optional(),
  columns: wholeText('a number of columns', 1, 1000).optional(),
  rows: wholeText('a number of rows', 1, 1000).optional(),
});

/**
 * One line naming each wrong field, what it expected and what it got (parse with
 * `{ reportInput: true }`): `body.size: expected a number of instances, got "many"`. What was
 * received is cut short, so a refusal never echoes a whole body back.
 */
export function describeProblems(error: z.ZodError, where?: string): string {
  return error.issues
    .map((issue) => {
      const field = [...(where ? [where] : []), ...issue.path.map(String)].join('.');
      const got = 'input' in issue && issue.input !== undefined ? `, got ${shortJson(issue.input)}` : '';
      return `${field ? `${field}: ` : ''}${issue.message}${got}`;
    })
    .join('; ');
}

function shortJson(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A body nested deeper than the stack (`[[[[…`) cannot be shown, and must not turn into a 500.
    return Array.isArray(value) ? 'an array nested too deep to show' : 'an object nested too deep to show';
  }
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
