/**
 * The remediation loop's decisions, pure: whether a spec's policy starts a run for what the
 * monitor found, when its maintenance window is open, what a run targets (so a target that failed
 * is never built twice), and the time-to-remediate percentiles. The clock is handed in.
 */
import { sha256Digest } from '../oci/index.js';
import type { MaintenanceWindow, PolicySection, Weekday } from '../specfile/index.js';
import { type UpdateFinding, type Urgency, urgencies } from './remediation-types.js';

export type RunDecision =
  /** `findings`: every actionable finding, since one rebuild addresses them all. */
  { run: true; findings: UpdateFinding[] } | { run: false; why: string };

/**
 * One decision from the findings, at `now`. Only actionable findings count (an open CVE with no
 * fix is reported, never built for). Image-age and policy findings always qualify; with
 * `trigger: security` an update qualifies when it is a security update at `minUrgency` or above.
 * A security update whose urgency the data does not know (a `-security` suite version fixing no
 * known CVE, or no vulnerability data) qualifies only at `minUrgency: unimportant`: a threshold
 * above it asks for evidence the data does not give. How many runs go at once
 * (`policy.concurrency`) is the loop's to count.
 */
export function decideRun(policy: PolicySection, findings: readonly UpdateFinding[], now: Date): RunDecision {
  const actionable = findings.filter((finding) => finding.actionable);
  if (actionable.length === 0) {
    return {
      run: false,
      why: findings.length === 0 ? 'nothing found' : 'no finding a rebuild can fix (no fix is available yet)',
    };
  }
  if (!actionable.some((finding) => qualifies(policy, finding))) {
    return {
      run: false,
      why: `the policy runs on security updates at urgency ${policy.minUrgency} or above; found ${actionable.map(describeForPolicy).join('; ')}`,
    };
  }
  if (policy.window && !inWindow(policy.window, now)) {
    const next = nextWindowOpening(policy.window, now);
    return {
      run: false,
      why: `outside the maintenance window (${describeWindow(policy.window)}); ${next ? `next opens at ${next.toISOString()}` : 'it names no day'}`,
    };
  }
  return { run: true, findings: actionable };
}

function qualifies(policy: PolicySection, finding: UpdateFinding): boolean {
  switch (finding.kind) {
    case 'image-age':
    case 'policy':
      return true;
    case 'package-update':
    case 'vulnerability':
      if (policy.trigger === 'any') return true;
      return finding.security && meetsUrgency(finding.urgency, policy.minUrgency);
  }
}

/** An unknown urgency meets only the lowest threshold. */
export function meetsUrgency(urgency: Urgency | undefined, minimum: Urgency): boolean {
  if (urgency === undefined) return minimum === urgencies[0];
  return urgencies.indexOf(urgency) >= urgencies.indexOf(minimum);
}

function describeForPolicy(finding: UpdateFinding): string {
  const what = finding.security
    ? `a security update (urgency ${finding.urgency ?? 'unknown'})`
    : 'no security fix';
  return `${finding.summary}: ${what}`;
}

const weekdayOfUtcDay: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const minuteMs = 60_000;
const dayMinutes = 24 * 60;
const dayMs = dayMinutes * minuteMs;

/** Whether `now` is inside the window: after an opening on one of its days and before it closes. */
export function inWindow(window: MaintenanceWindow, now: Date): boolean {
  const { from, length } = windowMinutes(window);
  const today = startOfUtcDay(now);
  // The window that opened today, or one that opened yesterday and runs past midnight.
  for (const opened of [today, today - dayMs]) {
    if (!window.days.includes(weekdayOf(opened))) continue;
    const opening = opened + from * minuteMs;
    if (now.getTime() >= opening && now.getTime() < opening + length * minuteMs) return true;
  }
  return false;
}

/**
 * When the window next opens at or after `now` (an opening exactly at `now` is `now`); undefined
 * when it names no day. Within a week every day has come round once.
 */
export function nextWindowOpening(window: MaintenanceWindow, now: Date): Date | undefined {
  const { from } = windowMinutes(window);
  const today = startOfUtcDay(now);
  for (let day = 0; day <= 7; day++) {
    const opened = today + day * dayMs;
    if (!window.days.includes(weekdayOf(opened))) continue;
    const opening = opened + from * minuteMs;
    if (opening >= now.getTime()) return new Date(opening);
  }
  return undefined;
}

/** `sat,sun 02:00–06:00 UTC`. */
export function describeWindow(window: MaintenanceWindow): string {
  return `${window.days.join(',')} ${window.from}–${window.to} UTC`;
}

/** Minutes after midnight it opens, and how long it stays open (to equal to from: a whole day). */
function windowMinutes(window: MaintenanceWindow): { from: number; length: number } {
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  return { from, length: to > from ? to - from : to + dayMinutes - from };
}

function minutesOf(time: string): number {
  const [hours = 0, minutes = 0] = time.split(':').map(Number);
  return hours * 60 + minutes;
}

function startOfUtcDay(now: Date): number {
  return Math.floor(now.getTime() / dayMs) * dayMs;
}

function weekdayOf(dayStart: number): Weekday {
  return weekdayOfUtcDay[new Date(dayStart).getUTCDay()] ?? 'sun';
}

export interface Percentiles {
  p50: number;
  p90: number;
  max: number;
}

/**
 * Nearest-rank percentiles (the smallest value with at least p% of values at or below it), so each
 * is a time that was measured; undefined for no values.
 */
export function percentiles(values: readonly number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
  return { p50: rank(50), p90: rank(90), max: sorted[sorted.length - 1] as number };
}

/** What a run's lock holds that decides its image (src/builder `Lock` has this shape). */
export interface TargetLock {
  base?: { digest: string };
  files: readonly { src: string; sha256: string }[];
  packages: readonly { name: string; version: string; sha256: string }[];
}

/**
 * What a run builds, as `sha256:<hex>`: the fresh lock's packages (name, version, sha256), its
 * files and base, the spec's digest, and the kinds of finding. The same target means the same
 * image, so once a run for it failed the monitor starts no second one until something changes.
 */
export function runTarget(
  fresh: TargetLock | undefined,
  options: { specDigest: string; findingKinds: readonly UpdateFinding['kind'][] },
): string {
  const lines = [
    `spec ${options.specDigest}`,
    ...[...new Set(options.findingKinds)].sort().map((kind) => `finding ${kind}`),
    ...(fresh?.base ? [`base ${fresh.base.digest}`] : []),
    ...(fresh?.files ?? []).map((file) => `file ${file.src} ${file.sha256}`).sort(),
    ...(fresh?.packages ?? []).map((p) => `package ${p.name} ${p.version} ${p.sha256}`).sort(),
  ];
  return sha256Digest(`${lines.join('\n')}\n`);
}
