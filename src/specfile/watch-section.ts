/**
 * herd.yaml's `watch:` section: where the integrity monitor sends an alert when it opens an
 * incident (drift, an exec session, an untrusted manifest). The schema is the untrusted edge (every
 * field says what it expects, unknown fields are errors) and its output, `WatchSection`, carries
 * every default. The monitor lives in src/watch; herd's `HERD_WATCH_WEBHOOK` is the fallback for
 * fleets whose spec names no webhook.
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
}

/** No webhook: a spec that says nothing sends no alerts of its own. */
export const defaultWatchSection: WatchSection = {};

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

/** The `watch:` section as written in herd.yaml; the type of the same name is what it becomes. */
export const WatchSection = fields(
  { webhook: optional(Webhook), deepCheck: optional(DeepCheck) },
  'a mapping with webhook and deepCheck',
).transform(
  (raw): WatchSection => ({
    ...(raw.webhook !== undefined ? { webhook: raw.webhook } : {}),
    ...(raw.deepCheck !== undefined ? { deepCheck: { intervalSeconds: raw.deepCheck.interval } } : {}),
  }),
);
