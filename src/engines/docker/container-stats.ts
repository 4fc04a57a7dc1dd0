/**
 * `GET /containers/{id}/stats?stream=false` turned into herd's `InstanceStats`. Engine JSON is an
 * untrusted edge: only `cpu_stats.cpu_usage.total_usage` (nanoseconds of CPU, cumulative, the
 * container's cgroup) and `read` are taken, and a body without a usable one is an error that says
 * what came. Podman 4.3's compat endpoint answers at once with `stream=false` (its `precpu_stats`
 * is empty: herd keeps the previous reading itself and takes the difference).
 */
import { EngineError, type InstanceStats } from '../engine.js';

/** The fields of a stats body herd reads. */
export interface ContainerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: unknown } };
}

/** `fallbackAt` (epoch ms) is used when the engine's `read` is missing or is the zero time. */
export function instanceStatsFrom(body: ContainerStats, where: string, fallbackAt: number): InstanceStats {
  const total = body.cpu_stats?.cpu_usage?.total_usage;
  if (typeof total !== 'number' || !Number.isFinite(total) || total < 0) {
    throw new EngineError(
      'OTHER',
      `stats of ${where}: expected cpu_stats.cpu_usage.total_usage as nanoseconds, got ${JSON.stringify(total ?? null).slice(0, 60)}`,
    );
  }
  const read = body.read === undefined ? Number.NaN : Date.parse(body.read);
  // Go's zero time (0001-01-01) is what an engine sends for "never read".
  const at = Number.isFinite(read) && read > 0 ? read : fallbackAt;
  return { cpuSeconds: total / 1e9, at };
}
