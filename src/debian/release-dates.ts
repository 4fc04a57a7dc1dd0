/**
 * Rollback: a mirror (or anyone between herd and it) can serve an old Release that is still
 * validly signed, and with it the package versions that a later Release fixed. herd remembers the
 * newest signed `Date` it has accepted for each suite (in herd.lock and in HERD_HOME) and compares
 * each verified Release with it here. Pure: the memory is handed in, the findings handed back.
 */
import { DebianError } from './errors.js';

/** A Release date herd accepted before, and where that memory is kept. */
export interface RememberedReleaseDate {
  /** The repository URI; absent when the memory holds for the suite on any mirror (herd.lock pins no mirror). */
  repository?: string;
  suite: string;
  date: Date;
  /** Where it is remembered, for messages: the lock's path, or HERD_HOME's file. */
  from: string;
}

/** A Release that verified: its repository, suite and signed Date. */
export interface ServedRelease {
  repository: string;
  suite: string;
  /** Absent when the Release has no Date field. */
  date?: Date;
}

export interface ReleaseDowngrade {
  repository: string;
  suite: string;
  /** The served Release's Date; absent when it has none, which cannot be shown to be newer. */
  got?: Date;
  /** The newest remembered date that the served Release is older than. */
  remembered: RememberedReleaseDate;
}

/**
 * Each served Release that is older than a date remembered for its suite (and repository, where
 * the memory names one). The same Date is not a downgrade: mirrors serve one Release many times.
 */
export function findDowngrades(
  served: readonly ServedRelease[],
  remembered: readonly RememberedReleaseDate[],
): ReleaseDowngrade[] {
  const downgrades: ReleaseDowngrade[] = [];
  for (const release of served) {
    let newest: RememberedReleaseDate | undefined;
    for (const memory of remembered) {
      if (memory.suite !== release.suite) continue;
      if (memory.repository !== undefined && memory.repository !== release.repository) continue;
      if (!newest || memory.date.getTime() > newest.date.getTime()) newest = memory;
    }
    if (!newest) continue;
    if (release.date && release.date.getTime() >= newest.date.getTime()) continue;
    downgrades.push({
      repository: release.repository,
      suite: release.suite,
      ...(release.date ? { got: release.date } : {}),
      remembered: newest,
    });
  }
  return downgrades;
}

export function describeDowngrade(downgrade: ReleaseDowngrade): string {
  const got = downgrade.got ? `a Release dated ${downgrade.got.toISOString()}` : 'a Release without a Date';
  return (
    `${downgrade.repository} suite ${downgrade.suite} serves ${got}, older than ` +
    `${downgrade.remembered.date.toISOString()} that herd accepted before (${downgrade.remembered.from})`
  );
}

/** The error for Releases that went back in time, naming every suite that did. */
export function downgradeError(downgrades: readonly ReleaseDowngrade[]): DebianError {
  return new DebianError(
    'RELEASE_DOWNGRADE',
    `refusing a rollback: ${downgrades.map(describeDowngrade).join('; ')}. ` +
      'A mirror serving an old signed Release serves the versions it has since fixed; ' +
      'if the archive really went back (a snapshot mirror), pass --allow-downgrade',
  );
}
