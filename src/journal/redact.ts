/**
 * The journal is kept forever and cannot be edited, so a secret written into it can never be taken
 * back. Every caller that puts configuration, environment or command lines into `details` passes
 * them through `redactDetails` first; the journal cannot know which names are secret.
 */
import type { JsonObject, JsonValue } from '../common/index.js';

export const redacted = '[redacted]';

export interface RedactOptions {
  /** Names whose values are secret, e.g. the env vars a spec marks secret. Compared case-insensitively. */
  secretNames: readonly string[];
  /** Secret values known to the caller; any occurrence inside any string is replaced. */
  secretValues?: readonly string[];
}

/**
 * A copy of `details` where every member named in `secretNames` (at any depth) has its value
 * replaced, `NAME=value` strings have their value replaced, and known secret values are cut out of
 * every string.
 */
export function redactDetails(details: JsonObject, options: RedactOptions): JsonObject {
  const names = new Set(options.secretNames.map((name) => name.toLowerCase()));
  // Longest first, so a secret that contains another is removed whole.
  const values = [...(options.secretValues ?? [])]
    .filter((value) => value !== '')
    .sort((a, b) => b.length - a.length);
  return redactObject(details, { names, values });
}

interface Secrets {
  names: Set<string>;
  values: string[];
}

function redactObject(object: JsonObject, secrets: Secrets): JsonObject {
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    copy[key] = secrets.names.has(key.toLowerCase()) ? redacted : redactValue(value, secrets);
  }
  return copy;
}

function redactValue(value: JsonValue, secrets: Secrets): JsonValue {
  if (typeof value === 'string') return redactString(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (value !== null && typeof value === 'object') return redactObject(value, secrets);
  return value;
}

function redactString(text: string, secrets: Secrets): string {
  const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(text);
  if (assignment && secrets.names.has(assignment[1]!.toLowerCase())) return `${assignment[1]}=${redacted}`;
  let result = text;
  for (const secret of secrets.values) result = result.split(secret).join(redacted);
  return result;
}
