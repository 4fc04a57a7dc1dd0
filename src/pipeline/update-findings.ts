/**
 * What the update monitor finds about a deployed image, as `UpdateFinding`s: newer packages the
 * signed archive serves (with the CVEs they fix), CVEs no rebuild fixes yet, an image past its
 * maximum age, and hardening rules that fail under a changed policy. Pure: the locks, the
 * vulnerability index and when each version was first visible are handed in.
 */
import type { Lock, LockChange } from '../builder/index.js';
import { matchVulnerabilities, type VulnFinding, type VulnIndex } from '../gate/index.js';
import type { Digest } from '../oci/index.js';
import { type PackageUpdate, type UpdateFinding, type Urgency, urgencies } from './remediation-types.js';

type LockedPackage = Lock['packages'][number];

/** When `version` of `pkg` was first visible in the signed archive, from `suite` (ISO 8601 UTC). */
export type VisibleAt = (pkg: string, version: string, suite: string) => string;

export interface PackageUpdateInput {
  service: string;
  /** The deployed digest. */
  digest: Digest;
  /** `diffLocks(before, after)`. */
  changes: readonly LockChange[];
  /** The lock the deployed image was built from. */
  before: Lock;
  /** The lock resolved again against the archive. */
  after: Lock;
  /** Without vulnerability data no CVE is known fixed; the update is still one. */
  vulns?: VulnIndex;
  visibleAt: VisibleAt;
  /** ISO 8601 UTC. */
  now: string;
}

/**
 * The newer packages a rebuild would take in, or undefined when there are none. An older version
 * (`downgraded`) is never an update: a rebuild would install it, so the caller reports it apart.
 * The same version with other bytes is no newer version either and is left out the same way. A
 * changed base (`image.from`) is an update with no package detail.
 */
export function packageUpdateFinding(input: PackageUpdateInput): UpdateFinding | undefined {
  const { before, after } = input;
  const oldPackages = new Map(before.packages.map((p) => [p.name, p]));
  const newPackages = new Map(after.packages.map((p) => [p.name, p]));
  const packages: PackageUpdate[] = [];
  const removed: Extract<LockChange, { kind: 'removed' }>[] = [];
  let base: Extract<LockChange, { kind: 'base' }> | undefined;
  for (const change of input.changes) {
    switch (change.kind) {
      case 'base':
        base = change;
        break;
      case 'downgraded':
        break;
      case 'changed': {
        if (change.from === change.to) break;
        const from = oldPackages.get(change.name);
        const to = newPackages.get(change.name);
        if (!from || !to) break;
        const fixed = cvesFixedBy(from, to, { before, after, vulns: input.vulns });
        packages.push({
          name: change.name,
          from: from.version,
          to: to.version,
          suite: to.suite,
          cvesFixed: fixed.map((match) => match.cve),
          ...urgencyField(highestUrgency(fixed.map((match) => match.urgency))),
          visibleAt: input.visibleAt(to.name, to.version, to.suite),
        });
        break;
      }
      case 'added': {
        const to = newPackages.get(change.name);
        if (!to) break;
        packages.push({
          name: change.name,
          to: to.version,
          suite: to.suite,
          cvesFixed: [],
          visibleAt: input.visibleAt(to.name, to.version, to.suite),
        });
        break;
      }
      case 'removed':
        removed.push(change);
        break;
    }
  }
  // A removal alone is not an update: it comes with a newer package whose dependencies changed.
  if (packages.length === 0 && !base) return undefined;
  const baseVisibleAt = base ? input.visibleAt('image.from', base.to ?? '(none)', 'image.from') : undefined;
  const visibleAt = earliest([
    ...packages.map((p) => p.visibleAt),
    ...(baseVisibleAt ? [baseVisibleAt] : []),
  ]);
  // A dropped package has nothing new to see: it goes when the rest of the update is visible.
  for (const { name, version } of removed) packages.push({ name, from: version, cvesFixed: [], visibleAt });
  const cvesFixed = [...new Set(packages.flatMap((p) => p.cvesFixed))].sort();
  const urgency = highestUrgency(packages.map((p) => p.urgency));
  return {
    service: input.service,
    digest: input.digest,
    kind: 'package-update',
    summary: updateSummary(packages, base),
    packages,
    cvesFixed,
    security: cvesFixed.length > 0 || packages.some((p) => p.suite?.endsWith('-security')),
    ...urgencyField(urgency),
    visibleAt,
    detectedAt: input.now,
    actionable: true,
  };
}

/** CVEs that match the old package and not the new one, by its source and source version. */
function cvesFixedBy(
  from: LockedPackage,
  to: LockedPackage,
  options: { before: Lock; after: Lock; vulns: VulnIndex | undefined },
): VulnFinding[] {
  if (!options.vulns) return [];
  const still = new Set(matchLockPackages([to], options.after, options.vulns).map((match) => match.cve));
  return matchLockPackages([from], options.before, options.vulns).filter((match) => !still.has(match.cve));
}

/**
 * Matches a lock's packages as the gate matches an image's: by source, within a suite codename.
 * The codename is the one the Release of each package's suite gave (bookworm-security says
 * bookworm, as the tracker files its fixes), else the lock's main suite.
 */
export function matchLockPackages(
  packages: readonly LockedPackage[],
  lock: Pick<Lock, 'suite' | 'suites'>,
  vulns: VulnIndex,
): VulnFinding[] {
  const codenames = new Map(lock.suites.map((suite) => [suite.suite, suite.codename ?? lock.suite]));
  const byCodename = new Map<string, LockedPackage[]>();
  for (const pkg of packages) {
    const codename = codenames.get(pkg.suite) ?? lock.suite;
    byCodename.set(codename, [...(byCodename.get(codename) ?? []), pkg]);
  }
  return [...byCodename].flatMap(([suite, group]) => matchVulnerabilities(group, vulns, { suite }));
}

export interface VulnerabilityInput {
  service: string;
  digest: Digest;
  /** The lock the deployed image was built from. */
  deployed: Lock;
  /** The lock resolved again, when the archive could be read: the CVEs it fixes are the update's. */
  fresh?: Lock;
  vulns: VulnIndex;
  now: string;
}

/**
 * CVEs in the deployed packages that a rebuild does not fix: no fix yet, or a fix the spec's
 * archives do not serve yet. Reported, never a run (`actionable: false`); the CVEs a rebuild fixes
 * belong to the package update. Debian's "will not fix" is left to the gate's report.
 */
export function vulnerabilityFinding(input: VulnerabilityInput): UpdateFinding | undefined {
  const deployedMatches = matchLockPackages(input.deployed.packages, input.deployed, input.vulns);
  const fixedByRebuild = new Set<string>();
  if (input.fresh) {
    const still = new Set(matchLockPackages(input.fresh.packages, input.fresh, input.vulns).map(keyOf));
    for (const match of deployedMatches) if (!still.has(keyOf(match))) fixedByRebuild.add(keyOf(match));
  }
  const open = deployedMatches.filter(
    (match) => match.status !== 'will-not-fix' && !fixedByRebuild.has(keyOf(match)),
  );
  if (open.length === 0) return undefined;
  const cves = [...new Set(open.map((match) => match.cve))].sort();
  const sources = [...new Set(open.map((match) => `${match.source} ${match.installedVersion}`))].sort();
  const urgency = highestUrgency(open.map((match) => match.urgency));
  return {
    service: input.service,
    digest: input.digest,
    kind: 'vulnerability',
    summary: `${count(cves.length, 'open CVE')} with no fix a rebuild can take in: ${listed(sources)} (${listed(cves)}${urgency ? `, ${urgency}` : ''})`,
    packages: [],
    cvesFixed: [],
    cvesOpen: cves,
    security: false,
    ...urgencyField(urgency),
    visibleAt: input.now,
    detectedAt: input.now,
    actionable: false,
  };
}

/** A CVE of one source: the same CVE in two sources is two things to fix. */
function keyOf(match: VulnFinding): string {
  return `${match.source}\t${match.cve}`;
}

/**
 * An image older than `maxAgeSeconds` is rotated even without a finding. It became due at
 * `createdAt + maxAgeSeconds`, which is when time-to-remediate starts.
 */
export function imageAgeFinding(input: {
  service: string;
  digest: Digest;
  /** When the image was built (its config's `created`), ISO 8601. */
  createdAt: string;
  maxAgeSeconds: number;
  now: string;
}): UpdateFinding | undefined {
  const created = Date.parse(input.createdAt);
  const now = Date.parse(input.now);
  if (Number.isNaN(created)) return undefined;
  const ageSeconds = (now - created) / 1000;
  if (ageSeconds <= input.maxAgeSeconds) return undefined;
  return {
    service: input.service,
    digest: input.digest,
    kind: 'image-age',
    summary: `image built ${input.createdAt} is ${formatSeconds(ageSeconds)} old, older than the ${formatSeconds(input.maxAgeSeconds)} allowed`,
    packages: [],
    cvesFixed: [],
    security: false,
    visibleAt: new Date(created + input.maxAgeSeconds * 1000).toISOString(),
    detectedAt: input.now,
    actionable: true,
  };
}

/** The gate's hardening rules, re-run under a changed policy, fail for the deployed image. */
export function policyFinding(input: {
  service: string;
  digest: Digest;
  failingRules: readonly string[];
  now: string;
  /** When herd first saw the rules fail, when it remembers; else now. */
  firstSeenAt?: string;
}): UpdateFinding | undefined {
  const rules = [...new Set(input.failingRules)].sort();
  if (rules.length === 0) return undefined;
  return {
    service: input.service,
    digest: input.digest,
    kind: 'policy',
    summary: `the gate's policy changed and ${count(rules.length, 'rule')} now fail${rules.length === 1 ? 's' : ''}: ${listed(rules)}`,
    packages: [],
    cvesFixed: [],
    security: false,
    visibleAt: input.firstSeenAt ?? input.now,
    detectedAt: input.now,
    actionable: true,
    rules,
  };
}

/**
 * The tracker's urgency (`high`, `medium*`, `not yet assigned`) as a level, or undefined when it
 * names none: a trailing `*` (inferred, not assessed) still counts, to fail closed.
 */
export function urgencyOf(text: string): Urgency | undefined {
  const bare = text.trim().toLowerCase().replace(/\*+$/, '').trim();
  return (urgencies as readonly string[]).includes(bare) ? (bare as Urgency) : undefined;
}

/** The highest of some urgencies (levels or the tracker's words); undefined when none is known. */
export function highestUrgency(values: readonly (string | undefined)[]): Urgency | undefined {
  let highest: Urgency | undefined;
  for (const value of values) {
    const urgency = value === undefined ? undefined : urgencyOf(value);
    if (urgency && (!highest || urgencies.indexOf(urgency) > urgencies.indexOf(highest))) highest = urgency;
  }
  return highest;
}

function urgencyField(urgency: Urgency | undefined): { urgency?: Urgency } {
  return urgency ? { urgency } : {};
}

/** ISO 8601 UTC timestamps sort as text; an empty list gives the empty string. */
function earliest(times: readonly string[]): string {
  return [...times].filter((time) => time !== '').sort()[0] ?? '';
}

/** `tiny-bin 1.0 → 1.1 (CVE-2026-0001, high)`, or `3 packages: a 1 → 2, b …`. */
export function updateSummary(
  packages: readonly PackageUpdate[],
  base?: Extract<LockChange, { kind: 'base' }>,
): string {
  const parts = [
    ...(base ? [`base ${base.ref} ${short(base.from)} → ${short(base.to)}`] : []),
    ...packages.map(describePackage),
  ];
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return only;
  const shown = parts.slice(0, 3).join(', ');
  const more = parts.length > 3 ? `, and ${parts.length - 3} more` : '';
  const what =
    packages.length === parts.length ? count(parts.length, 'package') : count(parts.length, 'change');
  return `${what}: ${shown}${more}`;
}

function describePackage(update: PackageUpdate): string {
  const fixes = [...update.cvesFixed, ...(update.urgency ? [update.urgency] : [])];
  const detail = fixes.length > 0 ? ` (${fixes.join(', ')})` : '';
  if (update.from === undefined) return `${update.name} (new) ${update.to ?? ''}${detail}`;
  if (update.to === undefined) return `${update.name} ${update.from} (dropped)`;
  return `${update.name} ${update.from} → ${update.to}${detail}`;
}

function short(digest: string | undefined): string {
  if (digest === undefined) return '(none)';
  return digest.startsWith('sha256:') ? `${digest.slice(0, 19)}…` : digest;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** At most five, then how many more: a summary is one line. */
function listed(items: readonly string[]): string {
  const more = items.length > 5 ? `, and ${items.length - 5} more` : '';
  return `${items.slice(0, 5).join(', ')}${more}`;
}

function formatSeconds(seconds: number): string {
  if (seconds >= 86_400) return `${+(seconds / 86_400).toFixed(1)}d`;
  if (seconds >= 3600) return `${+(seconds / 3600).toFixed(1)}h`;
  if (seconds >= 60) return `${+(seconds / 60).toFixed(1)}m`;
  return `${Math.round(seconds)}s`;
}
