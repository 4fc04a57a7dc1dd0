/**
 * herd.yaml's `watch:` section: where the integrity monitor sends an alert when it opens an
 * incident (drift, an exec session, an untrusted manifest), and how the update monitor of the
 * remediation loop looks for a stale image (how often, and how old an image may get). The schema is
 * the untrusted edge (every field says what it expects, unknown fields are errors) and its output,
 * `WatchSection`, carries every default. The integrity monitor lives in src/watch, the update
 * monitor in src/pipeline; herd's `HERD_WATCH_WEBHOOK` is the fallback for fleets whose spec names
 * no webhook.
 */
import { z } from 'zod';
import { describeValue } from './errors.js';
import { duration, expecting, fields, optional } from './schema-fields.js';

export interface WatchSection {
  /** An http(s) URL that gets one JSON POST per incident; absent means no alert from this spec. */
  webhook?: string;
  /**
   * How often one instance of the fleet, picked at random, has its whole filesystem hashed against
   * the image's file manifest; absent means the monitor's default (5 minutes).
   */
  deepCheck?: { intervalSeconds: number };
  /** How often the update monitor looks at the deployed image for updates, fixes and policy failures. */
  updates: { intervalSeconds: number };
  /**
   * An image older than this (since it was built) is rebuilt and rolled out even without a finding;
   * absent means no rotation by age.
   */
  maxImageAgeSeconds?: number;
}

/** The update monitor's interval when the spec names none: 5 minutes. */
export const defaultUpdatesIntervalSeconds = 300;

/** No webhook, no rotation by age: a spec that says nothing sends no alerts of its own. */
export const defaultWatchSection: WatchSection = {
  updates: { intervalSeconds: defaultUpdatesIntervalSeconds },
};

const webhookExpectation = 'an http:// or https:// URL such as https://alerts.example/herd';

/** Long enough for any real endpoint, short enough that a pasted document is refused. */
const maxUrlLength = 2048;

const Webhook = z.string(expecting(webhookExpectation)).superRefine((value, ctx) => {
  const problem = webhookProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', input: value, message: problem });
});

function webhookProblem(value: string): string | undefined {
  const got = describeValue(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected ${webhookExpectation}, got ${got}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `expected ${webhookExpectation}, got ${got}`;
  if (value.length > maxUrlLength)
    return `expected a URL of at most ${maxUrlLength} characters, got ${value.length}`;
  // herd.yaml is committed and the URL is stored with the fleet: a password in it would travel too.
  if (url.username !== '' || url.password !== '') {
    return `expected a URL without a user or password, got ${describeValue(`${url.protocol}//…@${url.host}`)}; give a URL that carries a credential through HERD_WATCH_WEBHOOK instead`;
  }
  return undefined;
}

/** Often enough to matter, rare enough that hashing a large image now and then costs little. */
const DeepCheck = fields(
  { interval: duration('a duration from 10s to 24h such as 5m or 1h', { min: 10, max: 86_400 }) },
  'a mapping with interval',
);

/**
 * Seconds so tests can run the loop quickly; at most a week, since a monitor that looks less often
 * than that is not watching.
 */
const Updates = fields(
  { interval: optional(duration('a duration from 1s to 7d such as 5m or 1h', { min: 1, max: 7 * 86_400 })) },
  'a mapping with interval',
);

/** At least an hour (a rebuild and rollout each time), at most a year. */
const MaxImageAge = duration('a duration from 1h to 365d such as 30d', { min: 3600, max: 365 * 86_400 });

/** The `watch:` section as written in herd.yaml; the type of the same name is what it becomes. */
export const WatchSection = fields(
  {
    webhook: optional(Webhook),
    deepCheck: optional(DeepCheck),
    updates: optional(Updates),
    maxImageAge: optional(MaxImageAge),
  },
  'a mapping with webhook, deepCheck, updates and maxImageAge',
).transform(
  (raw): WatchSection => ({
    ...(raw.webhook !== undefined ? { webhook: raw.webhook } : {}),
    ...(raw.deepCheck !== undefined ? { deepCheck: { intervalSeconds: raw.deepCheck.interval } } : {}),
    updates: { intervalSeconds: raw.updates?.interval ?? defaultUpdatesIntervalSeconds },
    ...(raw.maxImageAge !== undefined ? { maxImageAgeSeconds: raw.maxImageAge } : {}),
  }),
);
