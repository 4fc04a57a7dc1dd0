/**
 * Which known vulnerabilities apply to an image's packages. Pure: the index is handed in, nothing
 * is read or fetched. Binary packages are matched through their *source* package and the source's
 * version, in dpkg order, within one suite codename: that is how the tracker records fixes
 * (trivy-db and vunnel match the same way).
 */
import { compareDebianVersions } from '../../debian/index.js';
import { severityFromUrgency } from './severity.js';
import type { InstalledPackage, VulnFinding, VulnRecord } from './types.js';
import { compareIds, type VulnIndex } from './vulndb-file.js';

export function matchVulnerabilities(
  packages: readonly InstalledPackage[],
  db: VulnIndex,
  options: { suite: string },
): VulnFinding[] {
  const findings: VulnFinding[] = [];
  for (const group of groupBySource(packages)) {
    const seen = new Set<string>();
    for (const record of db.recordsFor(group.source, options.suite)) {
      const finding = findingFor(record, group);
      // OSV may give one id several ranges; the first that applies is the finding.
      if (finding && !seen.has(finding.cve)) {
        seen.add(finding.cve);
        findings.push(finding);
      }
    }
  }
  return findings.sort(compareFindings);
}

interface SourceGroup {
  source: string;
  version: string;
  packages: string[];
}

/**
 * One group per (source, source version). Binaries of one source nearly always share its version,
 * but an image mixing suites may hold two, and each is matched on its own.
 */
function groupBySource(packages: readonly InstalledPackage[]): SourceGroup[] {
  const groups = new Map<string, SourceGroup>();
  for (const pkg of packages) {
    const source = pkg.source || pkg.name;
    const version = pkg.sourceVersion || pkg.version;
    const key = `${source}\t${version}`;
    const group = groups.get(key);
    if (group) group.packages.push(pkg.name);
    else groups.set(key, { source, version, packages: [pkg.name] });
  }
  return [...groups.values()].map((group) => ({ ...group, packages: [...new Set(group.packages)].sort() }));
}

/** The finding `record` gives for an installed source version, or undefined when it does not apply. */
function findingFor(record: VulnRecord, group: SourceGroup): VulnFinding | undefined {
  const installed = group.version;
  if (record.introduced !== undefined && compareDebianVersions(installed, record.introduced) < 0)
    return undefined;
  if (record.lastAffected !== undefined && compareDebianVersions(installed, record.lastAffected) > 0) {
    return undefined;
  }
  const base = {
    cve: record.id,
    aliases: record.aliases ?? [],
    source: group.source,
    packages: group.packages,
    installedVersion: installed,
    ...severityOf(record.urgency),
    urgency: record.urgency,
    description: record.description,
    suite: record.suite,
  };
  switch (record.state.kind) {
    case 'fixed':
      // A backported fix (1.2-3+deb12u1) sorts after the suite's 1.2-3 in dpkg order, so the
      // same comparison covers backports.
      if (compareDebianVersions(installed, record.state.version) >= 0) return undefined;
      return { ...base, status: 'fixed-available', fixedVersion: record.state.version };
    case 'open':
      return { ...base, status: 'unfixed' };
    case 'will-not-fix':
      return { ...base, status: 'will-not-fix', reason: record.state.reason };
  }
}

function severityOf(urgency: string): Pick<VulnFinding, 'severity' | 'severityInferred'> {
  const { severity, inferred } = severityFromUrgency(urgency);
  return { severity, severityInferred: inferred };
}

function compareFindings(a: VulnFinding, b: VulnFinding): number {
  return (
    compareText(a.source, b.source) ||
    compareDebianVersions(a.installedVersion, b.installedVersion) ||
    compareIds(a.cve, b.cve)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
