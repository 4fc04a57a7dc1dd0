/**
 * Checks for the few JSON documents a gate reads on its way (an image config, a file manifest,
 * herd.lock, the vulnerability cache's header), written by hand. zod builds and compiles each
 * schema on its first use, 10–20 ms apiece, which a one-shot command pays every time: the gate's
 * goal is 300 ms for the whole process. The messages say what zod's do, where and what was
 * expected and received ("packages.3.name: Invalid input: expected string, received number"), so
 * callers keep their error texts.
 *
 * Each check returns the value typed, or throws a ShapeError naming the path.
 */

export class ShapeError extends Error {
  constructor(
    /** Where, dotted as zod's issue paths join: `entries.12.path`; empty for the root. */
    readonly path: string,
    /** What was wrong, in zod's words: `Invalid input: expected string, received number`. */
    readonly issue: string,
  ) {
    super(`${path || '(root)'}: ${issue}`);
    this.name = 'ShapeError';
  }
}

/** What a JSON value is, as zod names it in its messages. */
export function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value;
}

function expected(what: string, value: unknown, path: string): ShapeError {
  return new ShapeError(path, `Invalid input: expected ${what}, received ${jsonKind(value)}`);
}

/** Appends a key or index to a path. */
export function at(path: string, key: string | number): string {
  return path ? `${path}.${key}` : String(key);
}

export function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw expected('object', value, path);
  return value as Record<string, unknown>;
}

export function stringAt(value: unknown, path: string): string {
  if (typeof value !== 'string') throw expected('string', value, path);
  return value;
}

export function optionalStringAt(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : stringAt(value, path);
}

/** A whole number ≥ 0. */
export function countAt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw expected('number', value, path);
  if (!Number.isInteger(value)) throw expected('int', value, path);
  if (value < 0) throw new ShapeError(path, 'Too small: expected number to be >=0');
  return value;
}

export function arrayAt<T>(value: unknown, path: string, item: (value: unknown, path: string) => T): T[] {
  if (!Array.isArray(value)) throw expected('array', value, path);
  return value.map((element, index) => item(element, at(path, index)));
}

/** One of `options`, as a literal or an enum is. */
export function oneOfAt<T extends string | number>(value: unknown, path: string, options: readonly T[]): T {
  if (!options.includes(value as T)) {
    throw new ShapeError(
      path,
      options.length === 1
        ? `Invalid input: expected ${JSON.stringify(options[0])}`
        : `Invalid option: expected one of ${options.map((o) => JSON.stringify(o)).join('|')}`,
    );
  }
  return value as T;
}

/** An ISO 8601 date-time in UTC, as `z.iso.datetime()` accepts: `2025-06-01T12:00:00Z`, `…:00.123Z`. */
export function isoDateTimeAt(value: unknown, path: string): string {
  const text = stringAt(value, path);
  if (!isoDateTime.test(text) || Number.isNaN(Date.parse(text))) {
    throw new ShapeError(path, 'Invalid ISO datetime');
  }
  return text;
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z$/;
