/**
 * `herd vulndb update`: reads tracker JSON or OSV records from a URL, a file or a directory, keeps
 * what matching needs, and replaces the cache in one rename. Anything wrong with the input throws
 * before the cache is touched, so the previous cache stays as it was.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAtomic } from '../../common/index.js';
import type { HerdHome } from '../../herd-home.js';
import { VulnDbError } from './errors.js';
import { type FetchFunction, openVulnInput, type VulnInput } from './input.js';
import { readTopLevelMembers } from './json-stream.js';
import { vulnDbPath } from './load.js';
import { type OsvResult, osvToRecords } from './osv-format.js';
import { type SkipReason, type TrackerSourceResult, trackerSourceToRecords } from './tracker-format.js';
import { VulnDbBuilder, type VulnDbMeta } from './vulndb-file.js';

export interface UpdateVulnDbOptions {
  /** A URL (http, https, file) or a path: tracker JSON (plain or gzip), an OSV array, or a directory of OSV records. */
  from?: string;
  now: Date;
  /** Codenames to keep, e.g. `['bookworm']`; all that the data mentions when absent. */
  suites?: string[];
  fetch?: FetchFunction;
  /** Where HERD_VULNDB_URL is read when `from` is absent. */
  env?: NodeJS.ProcessEnv;
}

export interface VulnDbUpdate {
  path: string;
  meta: VulnDbMeta;
}

export async function updateVulnDb(home: HerdHome, options: UpdateVulnDbOptions): Promise<VulnDbUpdate> {
  const from = options.from || (options.env ?? process.env).HERD_VULNDB_URL;
  if (!from) {
    throw new VulnDbError(
      'VULNDB_SOURCE_MISSING',
      "no vulnerability data source given: pass --from <url|file> (the security tracker's data/json, " +
        'or OSV records) or set HERD_VULNDB_URL',
    );
  }
  const input = await openVulnInput(from, options.fetch ? { fetch: options.fetch } : {});
  const wanted = options.suites?.length ? new Set(options.suites) : undefined;
  const collected = await collectRecords(input, wanted);

  const missing = [...(wanted ?? [])].filter((suite) => !collected.codenames.has(suite));
  if (missing.length > 0) {
    const present = [...collected.codenames].sort().join(', ') || 'none';
    throw new VulnDbError(
      'VULNDB_RELEASE_UNKNOWN',
      `${input.location} has no data for ${missing.join(', ')}; it has: ${present}`,
    );
  }
  const counts = collected.builder.counts;
  if (counts.records === 0) {
    throw new VulnDbError(
      'VULNDB_EMPTY',
      `${input.location} holds no vulnerability for ${wanted ? [...wanted].join(', ') : 'any suite'}; ` +
        'the cache was left as it was',
    );
  }
  const meta: VulnDbMeta = {
    source: input.location,
    inputFormat: collected.inputFormat,
    fetchedAt: options.now.toISOString(),
    ...(collected.dataDate ? { dataDate: collected.dataDate.toISOString() } : {}),
    ...counts,
    skipped: collected.skipped,
  };
  const path = vulnDbPath(home);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeAtomic(path, collected.builder.serialize(meta));
  return { path, meta };
}

interface CollectedRecords {
  builder: VulnDbBuilder;
  inputFormat: VulnDbMeta['inputFormat'];
  codenames: Set<string>;
  skipped: Record<SkipReason, number>;
  dataDate?: Date;
}

async function collectRecords(
  input: VulnInput,
  wanted: ReadonlySet<string> | undefined,
): Promise<CollectedRecords> {
  const collected: CollectedRecords = {
    builder: new VulnDbBuilder(),
    inputFormat: input.kind === 'osv-directory' ? 'osv' : 'debian-tracker',
    codenames: new Set(),
    skipped: { 'not-affected': 0, undetermined: 0, 'other-suite': 0 },
  };
  const suites = wanted ? { suites: wanted } : {};
  if (input.kind === 'osv-directory') {
    for (const file of input.files) {
      const value = parseJsonFile(await readFile(file, 'utf8'), file);
      addResult(collected, osvToRecords(value, { location: file, ...suites }), { location: file });
    }
    return collected;
  }
  if (input.dataDate) collected.dataDate = input.dataDate;
  for await (const member of readTopLevelMembers(input.chunks, { name: input.location })) {
    if (member.container === 'object') {
      const result = trackerSourceToRecords(member.key, member.value, {
        location: input.location,
        offset: member.offset,
        ...suites,
      });
      addResult(collected, result, { location: input.location });
    } else {
      // A top-level array is a list of OSV records; the tracker's export is always an object.
      collected.inputFormat = 'osv';
      const location = `${input.location}: element ${member.index} (byte ${member.offset})`;
      addResult(collected, osvToRecords(member.value, { location, ...suites }), { location });
    }
  }
  return collected;
}

function addResult(
  collected: CollectedRecords,
  result: TrackerSourceResult | OsvResult,
  options: { location: string },
): void {
  for (const record of result.records) {
    // Names become keys of a line-oriented file: a tab or newline in one is hostile, not a package.
    if (/[\t\n\r]/.test(record.source) || record.source === '') {
      throw new VulnDbError(
        'VULNDB_MALFORMED',
        `${options.location}: invalid source package name ${JSON.stringify(record.source)}`,
      );
    }
    collected.builder.add(record);
  }
  for (const codename of result.codenames) collected.codenames.add(codename);
  for (const [why, count] of Object.entries(result.skipped) as [SkipReason, number][]) {
    collected.skipped[why] += count;
  }
  // OSV records carry their own dates; the newest is the data's date.
  if (
    'modified' in result &&
    result.modified &&
    (!collected.dataDate || result.modified > collected.dataDate)
  ) {
    collected.dataDate = result.modified;
  }
}

function parseJsonFile(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new VulnDbError('VULNDB_MALFORMED', `${path}: invalid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
