/**
 * The CLI's structured logger: pino, quiet unless HERD_LOG_LEVEL says otherwise. On stderr it
 * writes a line a person reads (`herd: warning: … (key=value)`); HERD_LOG_FORMAT=json keeps
 * pino's JSON lines for a log collector.
 */
import pino from 'pino';

const levelNames: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warning',
  50: 'error',
  60: 'fatal',
};

/** One pino JSON line as `herd: <level>: <message> (key=value …)`. */
export function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time: _time, msg, ...details } = record;
  const name = levelNames[Number(level)] ?? String(level);
  const extra = Object.entries(details)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `herd: ${name}: ${String(msg ?? '')}${extra ? ` (${extra})` : ''}\n`;
}

const humanStderr = {
  write(line: string) {
    process.stderr.write(humanLine(line));
  },
};

export const logger = pino(
  { level: process.env.HERD_LOG_LEVEL ?? 'warn', base: undefined },
  process.env.HERD_LOG_FORMAT === 'json' ? pino.destination({ fd: 2, sync: true }) : humanStderr,
);
