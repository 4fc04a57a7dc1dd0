/**
 * Per-fleet backoff for instances that exit on their own, as Kubernetes' CrashLoopBackOff: each crash
 * in a row doubles the wait before the next create (1 s, 2 s, 4 s … 60 s), a stable period without
 * crashes forgets them, and a fleet that keeps crashing is `degraded`. The controller never creates
 * while the wait lasts, so a crash loop costs one create per wait, never a hot loop.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Crash-free time after which the count starts again from zero. */
  resetAfterMs: number;
  /** Crashes in a row that make the fleet degraded. */
  degradedAfter: number;
}

export const defaultBackoffPolicy: BackoffPolicy = {
  initialMs: 1000,
  maxMs: 60_000,
  resetAfterMs: 120_000,
  degradedAfter: 3,
};

export interface CrashBackoff {
  /** Crashes in a row (since the last reset). */
  crashes: number;
  lastCrashAt?: number;
  /** No create before this time (epoch ms). */
  notBefore: number;
}

export const noCrashes: CrashBackoff = { crashes: 0, notBefore: 0 };

/** The state after `count` more crashes observed at `now`. */
export function recordCrashes(
  state: CrashBackoff,
  options: { count: number; now: number; policy?: BackoffPolicy },
): CrashBackoff {
  if (options.count <= 0) return state;
  const policy = options.policy ?? defaultBackoffPolicy;
  const crashes = settle(state, { now: options.now, policy }).crashes + options.count;
  const delay = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(crashes - 1, 30));
  return { crashes, lastCrashAt: options.now, notBefore: options.now + delay };
}

/** Forgets the crashes once the fleet has been stable for `resetAfterMs`. */
export function settle(state: CrashBackoff, options: { now: number; policy?: BackoffPolicy }): CrashBackoff {
  const policy = options.policy ?? defaultBackoffPolicy;
  if (state.lastCrashAt === undefined || options.now - state.lastCrashAt < policy.resetAfterMs) return state;
  return noCrashes;
}

export function mayCreate(state: CrashBackoff, now: number): boolean {
  return now >= state.notBefore;
}

export function isDegraded(state: CrashBackoff, options: { now: number; policy?: BackoffPolicy }): boolean {
  const policy = options.policy ?? defaultBackoffPolicy;
  return settle(state, options).crashes >= policy.degradedAfter;
}
