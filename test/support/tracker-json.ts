/**
 * Vulnerability data in the Debian security tracker's JSON export format (its data/json page, read
 * by src/gate/vulns/tracker-format.ts), written to a file for `herd vulndb update --from <file>`:
 * what the tracker says once a fix for a CVE is in the archive.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Urgency } from '../../src/pipeline/index.js';
import { freshHome } from './build-harness.js';

export interface TrackerFix {
  cve: string;
  /** The source package the CVE affects. */
  source: string;
  /** The tracker's release: a codename, such as the spec's `image.suite`. */
  codename: string;
  /** The first version without the flaw. */
  fixedVersion: string;
  urgency: Urgency;
}

/** The export as the tracker writes it: source → CVE → releases → codename. */
export function trackerJson(fixes: readonly TrackerFix[]): Record<string, Record<string, unknown>> {
  const data: Record<string, Record<string, unknown>> = {};
  for (const fix of fixes) {
    data[fix.source] ??= {};
    data[fix.source]![fix.cve] = {
      description: `a flaw in ${fix.source}, fixed in ${fix.fixedVersion}`,
      scope: 'remote',
      releases: {
        [fix.codename]: {
          status: 'resolved',
          repositories: { [fix.codename]: fix.fixedVersion },
          fixed_version: fix.fixedVersion,
          urgency: fix.urgency,
        },
      },
    };
  }
  return data;
}

/** Writes the export to a new file and returns its path. */
export async function writeTrackerJson(fixes: readonly TrackerFix[]): Promise<string> {
  const path = join(await freshHome('herd-tracker-'), 'data.json');
  await writeFile(path, JSON.stringify(trackerJson(fixes)));
  return path;
}
