/**
 * Reading the cache back for a gate, and how old its data is. `staleness` is pure: the clock is
 * passed in.
 */
import { join } from 'node:path';
import type { HerdHome } from '../../herd-home.js';
import { openVerifiedVulnDb, type VerifiedVulnDb } from './body-verification.js';
import type { VulnDb, VulnDbMeta } from './vulndb-file.js';

export function vulnDbPath(home: HerdHome): string {
  return join(home.root, 'vulndb', 'vulndb.ndjson');
}

/**
 * The cache as an index by (source package, codename). Throws VULNDB_MISSING before the first
 * update. Its body is checked against its header's sha256 once, then recognised by the file's
 * identity (body-verification.ts); `nowMs` (default the clock) decides whether the file is old
 * enough to be recorded.
 */
export async function loadVulnDb(home: HerdHome, options: { nowMs?: number } = {}): Promise<VulnDb> {
  return (await loadVerifiedVulnDb(home, options)).db;
}

/** loadVulnDb, saying how the body was verified: through the record of an earlier hash, or hashed now. */
export function loadVerifiedVulnDb(
  home: HerdHome,
  options: { nowMs?: number } = {},
): Promise<VerifiedVulnDb> {
  return openVerifiedVulnDb(home, vulnDbPath(home), { nowMs: options.nowMs ?? Date.now() });
}

export interface VulnDbAge {
  /** Days since `since`, fractional. */
  days: number;
  /** The data's own date when known, otherwise when it was fetched. */
  since: string;
  basis: 'data-date' | 'fetched-at';
}

export function vulnDbAge(meta: VulnDbMeta, options: { now: Date }): VulnDbAge {
  const since = meta.dataDate ?? meta.fetchedAt;
  const days = (options.now.getTime() - new Date(since).getTime()) / 86_400_000;
  return { days: Math.max(0, days), since, basis: meta.dataDate ? 'data-date' : 'fetched-at' };
}

export type VulnDbStaleness =
  | { kind: 'fresh'; age: VulnDbAge; maxAgeDays: number }
  | { kind: 'stale'; age: VulnDbAge; maxAgeDays: number; message: string };

/**
 * Whether the data is older than `maxAgeDays`. A stale database is a warning, not a failure: the
 * verdict decides what to do with it.
 */
export function staleness(
  db: { meta: VulnDbMeta },
  options: { now: Date; maxAgeDays: number },
): VulnDbStaleness {
  const age = vulnDbAge(db.meta, options);
  if (age.days <= options.maxAgeDays) return { kind: 'fresh', age, maxAgeDays: options.maxAgeDays };
  const what = age.basis === 'data-date' ? 'its data is from' : 'it was fetched on';
  return {
    kind: 'stale',
    age,
    maxAgeDays: options.maxAgeDays,
    message:
      `the vulnerability database is ${age.days.toFixed(1)} days old (${what} ${age.since}), ` +
      `older than the ${options.maxAgeDays}-day limit: run herd vulndb update`,
  };
}
