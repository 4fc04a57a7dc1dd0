/**
 * `herd vulndb update`: the vulnerability data the gate matches against. A module of its own, so
 * that `herd gate` loads none of the fetcher and the input parsers.
 */
import { systemClock } from '../../common/index.js';
import { herdHome } from '../../herd-home.js';
import { updateVulnerabilityData } from '../../pipeline/index.js';
import { openState } from '../state-context.js';
import { trackerDataUrl } from '../vulndb-source.js';

/**
 * `herd vulndb update [--from <url|file>] [--suite <codename>...]`: replaces the cache in one
 * rename, or leaves it as it was when the input is bad.
 */
export async function vulndbUpdateCommand(options: { from?: string; suite?: string[] }): Promise<number> {
  const from = options.from ?? process.env.HERD_VULNDB_URL ?? trackerDataUrl;
  const state = openState();
  let update: Awaited<ReturnType<typeof updateVulnerabilityData>>;
  try {
    update = await updateVulnerabilityData(
      { home: herdHome(), state, clock: systemClock },
      { from, ...(options.suite?.length ? { suites: options.suite } : {}) },
    );
  } finally {
    state.close();
  }
  const { meta } = update;
  console.log(`vulnerability data from ${meta.source}`);
  console.log(
    `  records   ${meta.records} (${meta.vulnerabilities} vulnerabilities, ${meta.sourcePackages} source packages)`,
  );
  console.log(`  data as of ${meta.dataDate ?? meta.fetchedAt}`);
  console.log(`  cache     ${update.path}`);
  return 0;
}
