/**
 * What a query means, as pure functions: `--since 10m|ISO`, `--grep re`, and whether a line
 * matches. Query text comes from the CLI and the HTTP API, so it is checked here.
 */
import { setFlagsFromString } from 'node:v8';
import { LogError } from './errors.js';
import type { LogEntry, LogQuery } from './types.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration like `90s`, `10m`, `2h`, `7d` in milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * units[match[2]!]!);
}

/** `10m` (ago), an ISO 8601 time, or epoch milliseconds, as epoch milliseconds. */
export function parseSince(text: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  if (/^\d{10,}$/.test(text)) return Number(text);
  // Only full dates: Date.parse accepts odd forms ("1", "May") that would surprise.
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  throw new LogError(
    'SINCE_INVALID',
    `since ${JSON.stringify(text)} is not a time: expected a duration like 10m or 2h, an ISO 8601 time, or epoch ms`,
  );
}

/** Longer patterns are refused: grep runs over every stored line, and the API is reachable locally. */
const maxGrepLength = 256;

export function compileGrep(pattern: string): RegExp {
  if (pattern.length > maxGrepLength) {
    throw new LogError(
      'GREP_INVALID',
      `grep pattern is ${pattern.length} characters: expected at most ${maxGrepLength}`,
    );
  }
  try {
    new RegExp(pattern);
  } catch (error) {
    throw new LogError(
      'GREP_INVALID',
      `grep pattern ${JSON.stringify(pattern)} is not a regular expression: ${(error as Error).message}`,
    );
  }
  try {
    return new RegExp(pattern, linearFlag());
  } catch {
    throw new LogError(
      'GREP_INVALID',
      `grep pattern ${JSON.stringify(pattern)} cannot be matched in linear time: expected one without backreferences or lookaround`,
    );
  }
}

/**
 * The `l` flag runs a pattern on V8's linear-time engine. A backtracking pattern such as
 * `(.*.*)*y` takes exponential time on an ordinary line, and the control plane has one event
 * loop: one viewer's grep would stop the controller, the watch and every other request. The
 * engine is behind a V8 flag, read when a pattern is made, so setting it before the first one
 * is enough.
 */
let linearEnabled = false;
function linearFlag(): string {
  if (!linearEnabled) {
    setFlagsFromString('--enable-experimental-regexp-engine');
    linearEnabled = true;
  }
  return 'l';
}

export function matchesQuery(entry: LogEntry, query: Omit<LogQuery, 'limit'>): boolean {
  if (entry.service !== query.service) return false;
  if (query.instance !== undefined && !matchesInstance(entry.instance, query.instance)) return false;
  if (query.since !== undefined && entry.time < query.since) return false;
  if (query.grep && !query.grep.test(entry.text)) return false;
  return true;
}

/** An instance is named by its id or by a prefix of it (status shows 12 characters), as podman does. */
export function matchesInstance(id: string, wanted: string): boolean {
  return wanted.length > 0 && id.startsWith(wanted);
}

/** The newest `limit` entries, oldest first; equal times keep append order. */
export function newestFirstLimit<T extends { time: number; seq: number }>(entries: T[], limit: number): T[] {
  entries.sort((a, b) => a.time - b.time || a.seq - b.seq);
  return limit >= entries.length ? entries : entries.slice(entries.length - limit);
}
