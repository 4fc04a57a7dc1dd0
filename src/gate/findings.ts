/**
 * What the gate finds, before the profile and the waivers decide what fails. One union for the
 * three checks (hardening rules, secret scan, vulnerabilities) and the vulndb notices, so the
 * verdict and every report handle them with one exhaustive switch.
 */
import type { VulnFinding } from './vulns/index.js';

/** How bad a finding is on its own; SARIF's `error`, `warning` and `note`. */
export type Level = 'error' | 'warning' | 'info';

export const levels: readonly Level[] = ['error', 'warning', 'info'];

export type Profile = 'baseline' | 'strict';

export const profiles: readonly Profile[] = ['baseline', 'strict'];

/**
 * Where a finding is. `path` is an absolute path in the image; `package` a binary package name;
 * `setting` names a field of the image config or the spec (`config.User`, `spec.health`).
 */
export interface FindingLocation {
  path?: string;
  /** 1-based line in the file at `path`. */
  line?: number;
  package?: string;
  setting?: string;
}

export interface HardeningFinding {
  kind: 'hardening';
  /** `HERD-H001` … */
  rule: string;
  level: Level;
  message: string;
  location?: FindingLocation;
}

export interface SecretFinding {
  kind: 'secret';
  /** `HERD-S001` … */
  rule: string;
  level: Level;
  /** Says what was found, never the secret itself. */
  message: string;
  location: FindingLocation & { path: string };
  /**
   * The first 16 hex digits of the sha256 of the matched text: tells two findings apart and lets a
   * rotated secret be recognised, without showing any of it. Absent for findings by file name.
   */
  fingerprint?: string;
}

/**
 * One vulnerability as src/gate/vulns matches it (`VulnFinding`), with what every finding has. The
 * rule is the vulnerability's id, so waivers and SARIF name it as people do.
 */
export interface VulnerabilityFinding extends VulnFinding {
  kind: 'vulnerability';
  /** The CVE (or TEMP-, or OSV) id. */
  rule: string;
  level: Level;
  message: string;
  location: FindingLocation;
}

/** The vulnerability data itself: missing or older than `gate.vulndb.maxAgeDays`. */
export interface VulndbFinding {
  kind: 'vulndb';
  /** `HERD-V001` stale, `HERD-V002` not checked. */
  rule: string;
  level: Level;
  message: string;
}

export type Finding = HardeningFinding | SecretFinding | VulnerabilityFinding | VulndbFinding;

/** `/usr/bin/su:3`, `package openssh-server`, `config.User`, or `-` for the image as a whole. */
export function describeLocation(finding: Finding): string {
  switch (finding.kind) {
    case 'hardening':
    case 'secret':
    case 'vulnerability': {
      const location = finding.location;
      if (!location) return '-';
      // A package's dpkg record stands for the package: say which package.
      if (location.package && (!location.path || location.path.startsWith('/var/lib/dpkg/'))) {
        return `package ${location.package}`;
      }
      if (location.path) return location.line ? `${location.path}:${location.line}` : location.path;
      return location.setting ?? '-';
    }
    case 'vulndb':
      return '-';
  }
}

/** The path a finding is at, for waivers scoped to a path and for SARIF locations. */
export function pathOf(finding: Finding): string | undefined {
  return finding.kind === 'vulndb' ? undefined : finding.location?.path;
}
