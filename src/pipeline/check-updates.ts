/**
 * The update monitor's look at one deployed image: its lock resolved again against the signed
 * archive (as `herd lock --check` does, with the same rollback protection), its packages matched
 * against the vulnerability data, and its age. Nothing is written but herd's memory: the Release
 * dates accepted (as any lock does) and when each new version was first visible.
 */
import type { Database } from 'better-sqlite3';
import type { Lock, LockChange } from '../builder/index.js';
import type { ReleaseDowngrade } from '../debian/index.js';
import { loadVulnDb, type VulnDb, VulnDbError, type VulnIndex } from '../gate/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Digest } from '../oci/index.js';
import { backwardChanges, checkSpecLock, type LockCheck, type LockParts, type SpecInputs } from './lock.js';
import type { UpdateFinding } from './remediation-types.js';
import {
  imageAgeFinding,
  packageUpdateFinding,
  type VisibleAt,
  vulnerabilityFinding,
} from './update-findings.js';
import { VisibleVersions } from './update-visibility.js';

export interface UpdateCheckParts extends LockParts {
  /** herd.db, for when each version was first visible. */
  db: Database;
  /** The vulnerability data; without it no CVE is known (`loadVulnDataIfAny`). */
  vulnDb?: VulnIndex;
  now: Date;
}

/** The image a fleet runs now. */
export interface DeployedImage {
  service: string;
  digest: Digest;
  /** When it was built (its config's `created`), ISO 8601. */
  createdAt: string;
}

export interface UpdateCheck {
  /** What `checkSpecLock` said of herd.lock, which is taken as the deployed image's lock. */
  lock: LockCheck['kind'];
  findings: UpdateFinding[];
  /** The lock as the archive resolves it now (herd.lock itself when current). */
  fresh?: Lock;
  /**
   * The archive went back in time (an older Release than herd accepted before): a rollback or
   * freeze by a mirror. Reported on its own; no finding, so no run starts on it.
   */
  rolledBack?: ReleaseDowngrade[];
  /**
   * Packages the archive now serves older than the lock pins, or at the same version with other
   * bytes. A rebuild would take them in, so no actionable finding is given while there are any.
   */
  downgraded?: LockChange[];
}

/**
 * Checks one deployed image. A missing lock has nothing to compare: only the image's age counts.
 * A rolled-back archive or a downgraded package gives no actionable finding, since every run
 * re-locks against that archive.
 */
export async function checkForUpdates(
  spec: SpecInputs,
  parts: UpdateCheckParts,
  options: { deployed: DeployedImage; maxImageAgeSeconds?: number },
): Promise<UpdateCheck> {
  const { deployed } = options;
  const now = parts.now.toISOString();
  const ageFinding = () =>
    options.maxImageAgeSeconds === undefined
      ? undefined
      : imageAgeFinding({ ...deployed, maxAgeSeconds: options.maxImageAgeSeconds, now });
  const openCves = (current: Lock, fresh: Lock | undefined) =>
    parts.vulnDb
      ? vulnerabilityFinding({
          ...deployed,
          deployed: current,
          ...(fresh ? { fresh } : {}),
          vulns: parts.vulnDb,
          now,
        })
      : undefined;

  const check = await checkSpecLock(spec, parts);
  switch (check.kind) {
    case 'missing':
      return { lock: 'missing', findings: present([ageFinding()]) };
    case 'rolled-back':
      return { lock: 'rolled-back', findings: [], rolledBack: check.downgrades };
    case 'current':
      return {
        lock: 'current',
        findings: present([openCves(check.lock, check.lock), ageFinding()]),
        fresh: check.lock,
      };
    case 'outdated': {
      const downgraded = backwardChanges(check.changes);
      if (downgraded.length > 0) {
        return {
          lock: 'outdated',
          findings: present([openCves(check.current, undefined)]),
          fresh: check.fresh,
          downgraded,
        };
      }
      const update = packageUpdateFinding({
        ...deployed,
        changes: check.changes,
        before: check.current,
        after: check.fresh,
        ...(parts.vulnDb ? { vulns: parts.vulnDb } : {}),
        visibleAt: visibleAtOf(check.fresh, { db: parts.db, service: deployed.service, now }),
        now,
      });
      return {
        lock: 'outdated',
        findings: present([update, openCves(check.current, check.fresh), ageFinding()]),
        fresh: check.fresh,
      };
    }
  }
}

/**
 * When each version of `fresh` was first visible: the Date of the Release of the suite it comes
 * from, recorded on first sight in herd.db.
 */
function visibleAtOf(fresh: Lock, options: { db: Database; service: string; now: string }): VisibleAt {
  const versions = new VisibleVersions(options.db);
  const dates = new Map(fresh.suites.map((suite) => [suite.suite, suite.date]));
  return (name, version, suite) => {
    const releaseDate = dates.get(suite);
    return versions.visibleAt(
      { service: options.service, name, version },
      { ...(releaseDate ? { releaseDate } : {}), now: options.now },
    );
  };
}

/**
 * HERD_HOME's vulnerability data, or undefined before the first `herd vulndb update`: the monitor
 * then knows no CVE, which is not an error. A damaged cache still is.
 */
export async function loadVulnDataIfAny(home: HerdHome): Promise<VulnDb | undefined> {
  try {
    return await loadVulnDb(home);
  } catch (error) {
    if (error instanceof VulnDbError && error.code === 'VULNDB_MISSING') return undefined;
    throw error;
  }
}

function present(findings: (UpdateFinding | undefined)[]): UpdateFinding[] {
  return findings.filter((finding): finding is UpdateFinding => finding !== undefined);
}
