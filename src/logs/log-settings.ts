/**
 * The log area's settings, from herd's own environment (never an instance's):
 * HERD_LOG_MAX_BYTES (e.g. 104857600, 100M, 1G), HERD_LOG_MAX_AGE (e.g. 7d, 12h),
 * HERD_LOG_SYSLOG (tcp://host:port or udp://host:port), HERD_LOG_OTLP (http://host:4318/v1/logs).
 */
import { LogError } from './errors.js';
import { type ForwardTarget, parseOtlpTarget, parseSyslogTarget } from './forward/forward-targets.js';
import { parseDuration } from './log-query.js';
import { defaultLogRetention } from './segment-log-store.js';

export interface LogSettings {
  maxBytes: number;
  maxAgeMs: number;
  forward: ForwardTarget[];
}

export function logSettingsFromEnv(env: NodeJS.ProcessEnv): LogSettings {
  const forward: ForwardTarget[] = [];
  if (env.HERD_LOG_SYSLOG) forward.push(parseSyslogTarget(env.HERD_LOG_SYSLOG));
  if (env.HERD_LOG_OTLP) forward.push(parseOtlpTarget(env.HERD_LOG_OTLP));
  return {
    maxBytes: env.HERD_LOG_MAX_BYTES
      ? parseByteSize(env.HERD_LOG_MAX_BYTES, 'HERD_LOG_MAX_BYTES')
      : defaultLogRetention.maxBytes,
    maxAgeMs: env.HERD_LOG_MAX_AGE ? parseAge(env.HERD_LOG_MAX_AGE) : defaultLogRetention.maxAgeMs,
    forward,
  };
}

const byteUnits: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

export function parseByteSize(text: string, name: string): number {
  const match = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  const bytes = match ? Number(match[1]) * byteUnits[match[2]!.toUpperCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new LogError(
      'SETTING_INVALID',
      `${name} is ${JSON.stringify(text)}: expected a size in bytes, like 104857600, 100M or 1G`,
    );
  }
  return bytes;
}

function parseAge(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1) {
    throw new LogError(
      'SETTING_INVALID',
      `HERD_LOG_MAX_AGE is ${JSON.stringify(text)}: expected a duration like 7d or 12h`,
    );
  }
  return ms;
}
