/**
 * The CLI's structured logger: pino, quiet unless HERD_LOG_LEVEL says otherwise. On stderr it
 * writes a line a person reads (`herd: warning: … (key=value)`); HERD_LOG_FORMAT=json keeps
 * pino's JSON lines for a log collector.
 *
 * pino is loaded when something is first logged, not when a command's module loads: most runs log
 * nothing at the default level, and loading pino costs 30-50 ms, a tenth of `herd gate`'s goal.
 */
import { createRequire } from 'node:module';
import type pinoModule from 'pino';

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

type PinoLogger = ReturnType<typeof pinoModule>;

let created: PinoLogger | undefined;

function pinoLogger(): PinoLogger {
  if (!created) {
    // pino is CommonJS: required by name where it is installed, synchronously as a log call is.
    const pino = createRequire(import.meta.url)('pino') as typeof pinoModule;
    created = pino(
      { level: process.env.HERD_LOG_LEVEL ?? 'warn', base: undefined },
      process.env.HERD_LOG_FORMAT === 'json' ? pino.destination({ fd: 2, sync: true }) : humanStderr,
    );
  }
  return created;
}

/** The pino logger, made on its first use: each property is the real logger's, methods bound to it. */
export const logger: PinoLogger = new Proxy({} as PinoLogger, {
  get(_target, property) {
    const real = pinoLogger();
    const value = Reflect.get(real, property, real);
    return typeof value === 'function' ? value.bind(real) : value;
  },
  set(_target, property, value) {
    return Reflect.set(pinoLogger(), property, value);
  },
  has(_target, property) {
    return Reflect.has(pinoLogger(), property);
  },
});
