/**
 * herd.yaml's `policy:` section: how the remediation loop treats this service's findings: which
 * findings start a pipeline run, when runs may roll out (a maintenance window, UTC), whether a run
 * promotes on its own or is held for `herd approve`, and how many runs go at once. The schema is the
 * untrusted edge (every field says what it expects, unknown fields are errors) and its output,
 * `PolicySection`, carries every default. The decisions are made in src/pipeline.
 */
import { z } from 'zod';
import {
  expecting,
  fields,
  listOf,
  optional,
  pattern,
  uniqueItems,
  whenValid,
  wholeNumber,
} from './schema-fields.js';

/**
 * The Debian security tracker's urgency levels, lowest first; the one list of them (the pipeline's
 * findings re-use it). Anything the tracker says beyond these (`not yet assigned`) is no urgency.
 */
export const urgencies = ['unimportant', 'low', 'medium', 'high', 'critical'] as const;
export type Urgency = (typeof urgencies)[number];

/** Days of the week as the window names them, Monday first (ISO 8601). */
export const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof weekdays)[number];

/**
 * A maintenance window, in UTC: it opens at `from` on each of `days` and closes at `to`, the next
 * day when `to` is earlier than `from` (22:00 to 02:00 runs past midnight; the day is the day it opens).
 */
export interface MaintenanceWindow {
  days: Weekday[];
  /** `HH:MM`, 00:00 to 23:59. */
  from: string;
  /** `HH:MM`, 00:00 to 23:59, never equal to `from`. */
  to: string;
}

export interface PolicySection {
  /** `any`: every actionable finding starts a run; `security`: only findings that fix a security issue. */
  trigger: 'any' | 'security';
  /** With `security`: the lowest urgency that starts a run; `unimportant` (every level) by default. */
  minUrgency: Urgency;
  /** When runs may start; absent means any time. */
  window?: MaintenanceWindow;
  /** `auto`: an accepted release goes to production on its own; `manual`: held for `herd approve`. */
  promote: 'auto' | 'manual';
  /**
   * A run of this service starts only while fewer than this many runs of any fleet are going (one
   * held for approval is not counted); a fleet never has two at once. Counted by src/pipeline.
   */
  concurrency: number;
}

/** Any finding, any time, promoted on its own, one run at a time. */
export const defaultPolicySection: PolicySection = {
  trigger: 'any',
  minUrgency: 'unimportant',
  promote: 'auto',
  concurrency: 1,
};

/** How many runs of one service may go at once; each builds an image and starts a candidate. */
export const maxPolicyConcurrency = 8;

const clockTime = pattern(
  /^(?:[01]\d|2[0-3]):[0-5]\d$/,
  'a UTC time of day HH:MM from 00:00 to 23:59 such as "02:00" (quote it)',
);

const Window = fields(
  {
    days: optional(
      listOf(
        z.enum(weekdays, expecting(`a day: ${weekdays.join(', ')}`)),
        `a non-empty list of days such as [sat, sun]`,
        {
          nonEmpty: true,
        },
      ).check(
        uniqueItems(
          (day: string) => day,
          (day) => `day "${day}"`,
        ),
      ),
    ),
    from: clockTime,
    to: clockTime,
  },
  'a mapping with days, from and to',
)
  .superRefine((raw, ctx) => {
    if (raw.from !== raw.to) return;
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      input: raw.to,
      message: `expected a time other than from (${raw.from}), got ${JSON.stringify(raw.to)}; leave the window out to allow any time`,
    });
  }, whenValid)
  .transform((raw): MaintenanceWindow => ({ days: raw.days ?? [...weekdays], from: raw.from, to: raw.to }));

/** The `policy:` section as written in herd.yaml; the type of the same name is what it becomes. */
export const PolicySection = fields(
  {
    trigger: optional(z.enum(['any', 'security'], expecting('any or security'))),
    urgency: optional(z.enum(urgencies, expecting(`an urgency: ${urgencies.join(', ')}`))),
    window: optional(Window),
    promote: optional(z.enum(['auto', 'manual'], expecting('auto or manual'))),
    concurrency: optional(
      wholeNumber(`a number of runs from 1 to ${maxPolicyConcurrency}`, {
        min: 1,
        max: maxPolicyConcurrency,
      }),
    ),
  },
  'a mapping with trigger, urgency, window, promote and concurrency',
)
  .superRefine((raw, ctx) => {
    // Every finding of `any` starts a run whatever its urgency: the field would be silently ignored.
    if (raw.urgency === undefined || raw.trigger === 'security') return;
    ctx.addIssue({
      code: 'custom',
      path: ['urgency'],
      input: raw.urgency,
      message: `urgency applies only with trigger: security, got trigger: ${raw.trigger ?? 'any (the default)'}; set trigger: security or remove urgency`,
    });
  }, whenValid)
  .transform(
    (raw): PolicySection => ({
      trigger: raw.trigger ?? defaultPolicySection.trigger,
      minUrgency: raw.urgency ?? defaultPolicySection.minUrgency,
      ...(raw.window !== undefined ? { window: raw.window } : {}),
      promote: raw.promote ?? defaultPolicySection.promote,
      concurrency: raw.concurrency ?? defaultPolicySection.concurrency,
    }),
  );
