/**
 * `herd vulndb update` as a use case, apart from gate.ts: its fetcher and its parsers of the
 * tracker's and OSV's formats are no part of a gate, which loads gate.ts alone (its goal is 300 ms
 * as a process).
 */
import { updateVulnDb, type VulnDbUpdate } from '../gate/index.js';
import type { GateParts } from './gate.js';

/**
 * `herd vulndb update`: replaces the cache in one rename, or leaves it as it was when the input is
 * bad; journals `vulndb-update` with where the data came from.
 */
export async function updateVulnerabilityData(
  parts: Pick<GateParts, 'home' | 'state' | 'clock'>,
  options: { from: string; suites?: string[] },
): Promise<VulnDbUpdate> {
  const update = await updateVulnDb(parts.home, {
    from: options.from,
    now: new Date(parts.clock.now()),
    ...(options.suites?.length ? { suites: options.suites } : {}),
  });
  parts.state.journal.append({
    actor: parts.state.actor,
    action: 'vulndb-update',
    details: { source: update.meta.source, records: update.meta.records },
  });
  return update;
}
