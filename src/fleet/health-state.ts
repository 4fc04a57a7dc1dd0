/**
 * One instance's health from its checks in a row, as Kubernetes probes count them: a pass makes it
 * ready (and resets the failures); `unreadyAfter` failures in a row take it out of service (the
 * spec's `health.retries`); `failureThreshold` failures in a row mark it unhealthy, to be replaced
 * (`fleet.health.failureThreshold`). Unhealthy is final: the instance is never changed, only replaced.
 */
export interface HealthRecord {
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Epoch ms at which it turned ready; absent while not ready. */
  readySince?: number;
  unhealthy: boolean;
  /** Epoch ms of the last check, so the next one waits for the check's interval. */
  checkedAt?: number;
}

export interface HealthThresholds {
  unreadyAfter: number;
  failureThreshold: number;
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

/** Whether a check is due: never checked, or the interval has passed since the last one. */
export function checkDue(record: HealthRecord, options: { now: number; intervalSeconds: number }): boolean {
  return record.checkedAt === undefined || options.now - record.checkedAt >= options.intervalSeconds * 1000;
}
