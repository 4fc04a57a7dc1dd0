/**
 * The building blocks of schema.ts. Each one states what it expects, so that every issue reads
 * "expected <what>, got <the value>", and mappings reject unknown fields with a suggestion.
 */
import { z } from 'zod';
import { describeValue } from './errors.js';

/** What a field expects, as text or, for a hint that depends on the value, as a function of it. */
export type Expectation = string | ((input: unknown) => string);

/** zod's `error` option: "expected <what>, got <value>". */
export function expecting(what: Expectation): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) =>
      typeof what === 'string' ? `expected ${what}, got ${describeValue(issue.input)}` : what(issue.input),
  };
}

/** A non-empty string. */
export function text(what: string) {
  return z.string(expecting(what)).min(1, expecting(what));
}

export function pattern(regex: RegExp, what: Expectation) {
  return z.string(expecting(what)).regex(regex, expecting(what));
}

export function wholeNumber(what: Expectation, range: { min: number; max: number }) {
  return z.int(expecting(what)).min(range.min, expecting(what)).max(range.max, expecting(what));
}

export function flag(what = 'true or false') {
  return z.boolean(expecting(what));
}

export function listOf<Item extends z.ZodType>(
  item: Item,
  what: string,
  options: { nonEmpty?: boolean } = {},
) {
  const list = z.array(item, expecting(what));
  return options.nonEmpty ? list.min(1, expecting(what)) : list;
}

/**
 * A field that may be left out. An empty YAML value (`env:` with every entry commented out) counts as
 * left out, so commenting out a section's contents never turns into a type error.
 */
export function optional<Schema extends z.ZodType>(schema: Schema) {
  return z.preprocess((value) => (value === null ? undefined : value), schema.optional());
}

/**
 * A mapping with known fields only. zod's strictObject reports all unknown keys as one issue on the
 * mapping; this reports one issue per key, on the key, with the nearest known field as a suggestion.
 */
export function fields<Shape extends z.ZodRawShape>(
  shape: Shape,
  what: string,
  options: { renamed?: Readonly<Record<string, string>> } = {},
) {
  return z.looseObject(shape, expecting(what)).check(onlyKnownFields(Object.keys(shape), options.renamed));
}

/** A day is 24 hours: durations here are elapsed time, never calendar days across a clock change. */
const durationUnits = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds, possibly fractional (500ms is 0.5), of a duration as written: a number and a unit. */
export function durationSeconds(text: string): number {
  const [, amount = '0', unit = 's'] = /^([\d.]+)(ms|s|m|h|d)$/.exec(text) ?? [];
  return Number(amount) * durationUnits[unit as keyof typeof durationUnits];
}

/** A duration such as `500ms`, `5s`, `1.5m`, `1h` or `30d`, in seconds, within `range` (seconds) when given. */
export function duration(what: string, range: { min?: number; max?: number } = {}) {
  const inRange = (seconds: number) =>
    seconds > 0 && seconds >= (range.min ?? 0) && seconds <= (range.max ?? Number.POSITIVE_INFINITY);
  return (
    pattern(/^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/, what)
      // Only once the pattern held: a text that is not a duration is reported once.
      .refine((text) => inRange(durationSeconds(text)), { ...expecting(what), ...whenValid })
      .transform(durationSeconds)
  );
}

/** Marks an issue that is about a mapping's key rather than its value; the loader points at the key. */
export const atKey = { at: 'key' } as const;

/**
 * `renamed` names a field a previous herd knew by another key, with what it is called now (`release:
 * 'the main suite is called "suite" now'`): a spec written for it is told the new name, not a guess.
 */
function onlyKnownFields(known: readonly string[], renamed: Readonly<Record<string, string>> = {}) {
  return z.superRefine(
    (value: unknown, ctx) => {
      if (!isMapping(value)) return;
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        ctx.addIssue({
          code: 'custom',
          path: [key],
          input: value[key],
          params: atKey,
          message: Object.hasOwn(renamed, key)
            ? `unknown field ${JSON.stringify(key)}: ${renamed[key]}`
            : `unknown field ${JSON.stringify(key)} ${suggestionFor(key, known)}`,
        });
      }
    },
    // Unknown fields are reported together with every other problem, not only once the rest is valid.
    { when: () => true },
  );
}

/**
 * For checks across fields: run once the value has no problem of its own. zod would run them after
 * issues it deems minor (a failed pattern, an unknown field), on values that may be half-transformed.
 */
export const whenValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

/** Flags every item whose key repeats an earlier one, at the later item. */
export function uniqueItems<Item>(keyOf: (item: Item) => string, what: (key: string) => string) {
  return z.superRefine((items: Item[], ctx) => {
    const firstIndex = new Map<string, number>();
    for (const [index, item] of items.entries()) {
      const key = keyOf(item);
      const first = firstIndex.get(key);
      if (first === undefined) firstIndex.set(key, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index],
          input: item,
          message: `${what(key)} is listed twice (also at [${first}])`,
        });
    }
  }, whenValid);
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function suggestionFor(key: string, known: readonly string[]): string {
  const nearest = nearestName(key, known);
  return nearest === undefined
    ? `(known fields: ${known.join(', ')})`
    : `(did you mean ${JSON.stringify(nearest)}?)`;
}

/** The known name closest to `name`, if it is close enough to be a typo. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) {
      best = { name: candidate, distance };
    }
  }
  return best?.name;
}

/** Optimal string alignment distance: Levenshtein plus adjacent swaps, the commonest typo ("imgae"). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        distance = Math.min(distance, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = distance;
    }
  }
  return at(a.length, b.length);
}
