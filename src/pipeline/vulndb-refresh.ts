/**
 * Refreshed vulnerability data for the update monitor: when herd's environment names a source
 * (HERD_VULNDB_URL, as `herd vulndb update` reads it), the data is fetched again before a check
 * once it is older than the fleet's `watch.updates.interval`. A refresh that fails is a logged
 * warning and the check goes on with the data herd has: `updateVulnDb` replaces the cache in one
 * rename, so a bad source never leaves half a cache behind.
 */
import type { Clock, Logger } from '../common/index.js';
import type { VulnDb } from '../gate/index.js';
import type { HerdHome } from '../herd-home.js';
import { loadVulnDataIfAny } from './check-updates.js';
import type { PipelineState } from './parts.js';
import { updateVulnerabilityData } from './vulndb-update.js';

export type RefreshDecision = { due: true; why: string } | { due: false; why: string };

/**
 * Pure: whether to fetch the data again before a check. Never more often than once per interval,
 * whichever fleet's check asks and whether the last attempt worked (a failing source is not asked
 * again on every check). Otherwise due when there is no data yet, or when it was fetched at least
 * an interval ago, or "in the future" (a clock set back: its age says nothing).
 */
export function vulnDataRefreshDue(input: {
  /** When the cached data was fetched (its `fetchedAt`); undefined before the first update. */
  fetchedAt: string | undefined;
  /** When this control plane last tried, in ms; undefined when it never did. */
  lastAttemptAt: number | undefined;
  now: number;
  intervalSeconds: number;
}): RefreshDecision {
  const interval = input.intervalSeconds * 1000;
  if (input.lastAttemptAt !== undefined && input.now - input.lastAttemptAt < interval) {
    return { due: false, why: 'tried less than an interval ago' };
  }
  if (input.fetchedAt === undefined) return { due: true, why: 'no vulnerability data yet' };
  const fetched = Date.parse(input.fetchedAt);
  if (Number.isNaN(fetched)) return { due: true, why: `unreadable fetch time ${input.fetchedAt}` };
  const age = input.now - fetched;
  if (age < 0) return { due: true, why: `fetched at ${input.fetchedAt}, after now` };
  if (age >= interval) return { due: true, why: `fetched at ${input.fetchedAt}, an interval ago or more` };
  return { due: false, why: `fetched at ${input.fetchedAt}, less than an interval ago` };
}

export interface VulnDataRefreshParts {
  /** HERD_HOME, where the data is cached. */
  home: HerdHome;
  /** Where `vulndb-update` is journaled, and as whom. */
  state: PipelineState;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  /** HERD_VULNDB_URL: a URL or a file. */
  from: string;
}

/** The monitor's vulnerability data, fetched again when due (`vulnDataRefreshDue`). */
export class VulnDataRefresh {
  private lastAttemptAt: number | undefined;

  constructor(private readonly parts: VulnDataRefreshParts) {}

  /**
   * The data to check with: refreshed first when due, else as cached (undefined when there is
   * none). A failed refresh leaves the cache as it was and returns it. A cache that does not read
   * is refreshed; if that fails too, its own error is thrown, as a check without a source would.
   */
  async current(options: { intervalSeconds: number }): Promise<VulnDb | undefined> {
    const { home, clock, log } = this.parts;
    let cached: VulnDb | undefined;
    let unreadable: unknown;
    try {
      cached = await loadVulnDataIfAny(home);
    } catch (error) {
      unreadable = error;
    }
    const now = clock.now();
    const decision = vulnDataRefreshDue({
      fetchedAt: unreadable === undefined ? cached?.meta.fetchedAt : undefined,
      lastAttemptAt: this.lastAttemptAt,
      now,
      intervalSeconds: options.intervalSeconds,
    });
    if (!decision.due) {
      if (unreadable !== undefined) throw unreadable;
      return cached;
    }
    this.lastAttemptAt = now;
    const source = sourceForLog(this.parts.from);
    try {
      const update = await updateVulnerabilityData(this.parts, { from: this.parts.from });
      log.info(
        { source, records: update.meta.records, why: decision.why },
        'refreshed the vulnerability data before an update check',
      );
    } catch (error) {
      log.warn(
        {
          source,
          code: (error as { code?: unknown }).code,
          err: redact(error instanceof Error ? error.message : String(error), this.parts.from, source),
        },
        'the vulnerability data could not be refreshed; the check goes on with the data herd has',
      );
      if (unreadable !== undefined) throw unreadable;
      return cached;
    }
    return loadVulnDataIfAny(home);
  }
}

/** A URL without its user, password, query or fragment: HERD_VULNDB_URL may carry a token. */
export function sourceForLog(from: string): string {
  if (!/^https?:\/\//i.test(from)) return from;
  try {
    const url = new URL(from);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

function redact(message: string, from: string, shown: string): string {
  return from === shown ? message : message.split(from).join(shown);
}
