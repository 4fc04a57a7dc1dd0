/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * JSON.stringify writes them (the same choices as RFC 8785). Equal values always give equal text,
 * which is what a signature or a hash over JSON needs. Not to be confused with compactJson, which
 * keeps the keys in the order they were written.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/**
 * Throws a TypeError naming the first value that is not plain JSON (`got a Date at $.when`): a
 * caller that takes JSON from outside says in its own error what it was given.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(path, String(value));
    return JSON.stringify(value);
  }
  if (typeof value !== 'object') throw invalid(path, typeof value);
  if (seen.has(value)) throw invalid(path, 'a circular reference');
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item, index) => encode(item, `${path}[${index}]`, seen)).join(',')}]`;
    }
    const prototype = Object.getPrototypeOf(value);
    // A Date or a Map would hash as whatever toJSON happens to give; make the caller choose.
    if (prototype !== Object.prototype && prototype !== null) throw invalid(path, value.constructor.name);
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map(
        (key) =>
          `${JSON.stringify(key)}:${encode((value as Record<string, unknown>)[key], `${path}.${key}`, seen)}`,
      );
    return `{${members.join(',')}}`;
  } finally {
    seen.delete(value);
  }
}

function invalid(path: string, got: string): TypeError {
  return new TypeError(`got ${got} at ${path}`);
}
