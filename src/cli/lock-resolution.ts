/**
 * Resolving a spec's lock with herd's memory of the archive, for `herd lock`, and for `herd build`
 * and `herd up` when there is no lock yet: the Release dates that herd.lock and HERD_HOME remember
 * go to the resolver, and the dates it accepted are remembered afterwards.
 */
import { ArchiveDates, rememberedFromLock } from '../builder/archive-dates.js';
import type { Lock } from '../builder/lock-file.js';
import { type LockResolution, resolveLock } from '../builder/resolve-lock.js';
import { describeDowngrade, type ReleaseDowngrade } from '../debian/release-dates.js';
import { herdHome } from '../herd-home.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { catalogBaseSource } from './catalog-base-source.js';
import type { SpecContext } from './spec-context.js';
import { openState } from './state-context.js';

export async function resolveSpecLock(
  context: SpecContext,
  options: { store: LayoutStore; previous?: Lock; allowDowngrade?: boolean },
): Promise<LockResolution> {
  const archiveDates = new ArchiveDates(herdHome().archiveDates);
  const remembered = [
    ...(options.previous ? rememberedFromLock(options.previous, { lockPath: context.lockPath }) : []),
    ...(await archiveDates.read()),
  ];
  const state = openState();
  let resolution: LockResolution;
  try {
    resolution = await resolveLock(context.loaded, {
      fetcher: context.fetcher,
      sources: context.sources,
      store: options.store,
      baseSource: catalogBaseSource(state.catalog),
      remembered,
      ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
    });
  } finally {
    state.close();
  }
  // A remembered date only moves forward, so an allowed downgrade does not lower it.
  await archiveDates.record(resolution.releases);
  return resolution;
}

/** Says, on standard error, which older Releases `--allow-downgrade` let through. */
export function reportAllowedDowngrades(downgrades: readonly ReleaseDowngrade[]): void {
  for (const downgrade of downgrades) {
    console.error(`herd: --allow-downgrade: taking an older Release: ${describeDowngrade(downgrade)}`);
  }
}
