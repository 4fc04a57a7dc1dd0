/**
 * What herd keeps of the Debian security tracker (or OSV) and what matching gives back. Both input
 * formats map to `VulnRecord`; the cache stores nothing else.
 */

/**
 * One vulnerability as it stands for one source package in one suite (codename): the unit the
 * cache stores and matching reads. Not-affected and undetermined entries are never records.
 */
export interface VulnRecord {
  /** The tracker's name for the issue: `CVE-2024-1234`, `TEMP-…`, or an OSV id such as `DSA-5678-1`. */
  id: string;
  /** Source package: binaries are matched through the source they were built from. */
  source: string;
  /** Suite (codename), e.g. `bookworm`. */
  suite: string;
  state: VulnState;
  /** The tracker's urgency as written, e.g. `medium*`; `not yet assigned` when absent. */
  urgency: string;
  /** First line of the description; may be empty. */
  description: string;
  /** Other names of the same issue (OSV `aliases`/`upstream`), so a waiver naming a CVE still applies. */
  aliases?: string[];
  /** OSV ranges only: versions below this are not affected. The tracker's data has no lower bound. */
  introduced?: string;
  /** OSV ranges only: versions above this are not affected, though no fixed version is known. */
  lastAffected?: string;
}

export type VulnState =
  /** Fixed in `version`: anything older is affected. */
  | { kind: 'fixed'; version: string }
  /** Affected, no fix in this suite yet. */
  | { kind: 'open' }
  /** Affected, and Debian has said it will not ship a fix (for now). */
  | { kind: 'will-not-fix'; reason: WillNotFixReason };

/**
 * `no-dsa`: a no-dsa note without a reason (minor issue, maybe fixed in a point release);
 * `ignored` and `postponed`: the no-dsa reasons the tracker spells out; `end-of-life`: security
 * support for the package ended in this suite.
 */
export type WillNotFixReason = 'no-dsa' | 'ignored' | 'postponed' | 'end-of-life';

export type VulnSeverity = 'negligible' | 'low' | 'medium' | 'high' | 'unknown';

export type FindingStatus = 'fixed-available' | 'unfixed' | 'will-not-fix';

/** A package in an image, as the lock records it (`LockedPackage` fits). */
export interface InstalledPackage {
  name: string;
  version: string;
  /** Source package; when empty, the binary's own name (as dpkg does). */
  source: string;
  /** Source version; when empty, the binary's version. */
  sourceVersion: string;
}

/** One vulnerability of one source package in an image, with every binary built from it. */
export interface VulnFinding {
  /** The record's id (a CVE for tracker data). */
  cve: string;
  aliases: string[];
  source: string;
  /** Binary packages in the image built from `source`, sorted. */
  packages: string[];
  /** The installed *source* version: what the tracker's versions are compared with. */
  installedVersion: string;
  /** Present for `fixed-available`. */
  fixedVersion?: string;
  status: FindingStatus;
  /** Present for `will-not-fix`. */
  reason?: WillNotFixReason;
  severity: VulnSeverity;
  /** The tracker marks an urgency it inferred rather than assessed with a trailing `*`. */
  severityInferred: boolean;
  urgency: string;
  description: string;
  suite: string;
}
