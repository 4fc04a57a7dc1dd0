/**
 * One instance's health from its checks in a row, as Kubernetes probes count them: a pass makes it
 * ready (and resets the failures); `unreadyAfter` failures in a row take it out of service (the
 * spec's `health.retries`); `failureThreshold` failures in a row mark it unhealthy, to be replaced
 * (`fleet.health.failureThreshold`). Unhealthy is final: the instance is never changed, only replaced.
 *
 * Until its first pass an instance is starting, as under Kubernetes' startupProbe: it is checked
 * every `startupProbeMs` instead of every interval, so a replacement takes traffic as soon as it
 * answers, and its failures count nothing until `startupWindowMs` is over; then it is unhealthy.
 */
export interface HealthRecord {
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Epoch ms at which it turned ready; absent while not ready. */
  readySince?: number;
  unhealthy: boolean;
  /** Epoch ms of the last check, so the next one waits for the check's interval. */
  checkedAt?: number;
  /** Epoch ms of its first check, while it has never passed one (it is starting). */
  startingSince?: number;
}

export interface HealthThresholds {
  unreadyAfter: number;
  failureThreshold: number;
  /** How long a starting instance may fail its checks before it is unhealthy. */
  startupWindowMs: number;
}

/** The pace of a starting instance's checks (a Kubernetes startupProbe's period). */
export const startupProbeMs = 250;

/**
 * As long as the spec's own checks would have taken to find it unhealthy (failureThreshold checks
 * an interval apart), so a slow starter gets no less time than before, however fast it is probed.
 */
export function startupWindowMs(health: { intervalSeconds: number }, failureThreshold: number): number {
  return health.intervalSeconds * 1000 * failureThreshold;
}

/** Never checked, or never passed a check yet. */
export function isStarting(record: HealthRecord): boolean {
  return record.checkedAt === undefined || record.startingSince !== undefined;
}

export const uncheckedHealth: HealthRecord = {
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
  unhealthy: false,
};

export function recordCheck(
  previous: HealthRecord,
  check: { passed: boolean; at: number; thresholds: HealthThresholds },
): HealthRecord {
  if (previous.unhealthy) return { ...previous, checkedAt: check.at };
  if (!check.passed && isStarting(previous)) {
    const since = previous.startingSince ?? check.at;
    const over = check.at - since >= check.thresholds.startupWindowMs;
    return {
      consecutiveFailures: previous.consecutiveFailures + 1,
      consecutiveSuccesses: 0,
      // Failures while starting count nothing until the window is over; then it never started.
      unhealthy: over,
      checkedAt: check.at,
      startingSince: since,
    };
  }
  if (check.passed) {
    return {
      consecutiveFailures: 0,
      consecutiveSuccesses: previous.consecutiveSuccesses + 1,
      readySince: previous.readySince ?? check.at,
      unhealthy: false,
      checkedAt: check.at,
    };
  }
  const consecutiveFailures = previous.consecutiveFailures + 1;
  const stillReady = previous.readySince !== undefined && consecutiveFailures < check.thresholds.unreadyAfter;
  return {
    consecutiveFailures,
    consecutiveSuccesses: 0,
    ...(stillReady ? { readySince: previous.readySince } : {}),
    unhealthy: consecutiveFailures >= check.thresholds.failureThreshold,
    checkedAt: check.at,
  };
}

/**
 * Whether a check is due: never checked, or the interval has passed since the last one (the
 * startup pace while it is starting, or the interval when that is shorter).
 */
export function checkDue(record: HealthRecord, options: { now: number; intervalSeconds: number }): boolean {
  if (record.checkedAt === undefined) return true;
  const intervalMs = options.intervalSeconds * 1000;
  const every = isStarting(record) ? Math.min(startupProbeMs, intervalMs) : intervalMs;
  return options.now - record.checkedAt >= every;
}
