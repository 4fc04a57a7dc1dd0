/**
 * OSV records for Debian (ecosystem `Debian:<major>`), mapped to the same `VulnRecord` as the
 * tracker's export. The format is the OSV schema (ossf/osv-schema, docs/schema.md); OSV's Debian
 * records are converted from the tracker (`DEBIAN-CVE-…`, with the tracker's urgency in
 * `affected[].ecosystem_specific.urgency`) or from DSA/DLA advisories. Shape, fields used only:
 *
 *   { id, modified, withdrawn, aliases, upstream, summary, details,
 *     affected: [{ package: { ecosystem: "Debian:12", name: "<source>" },
 *                  ranges: [{ type: "ECOSYSTEM", events: [{ introduced }, { fixed } | { last_affected }] }],
 *                  ecosystem_specific: { urgency } }],
 *     database_specific: { urgency } }
 */
import { z } from 'zod';
import { VulnDbError } from './errors.js';
import { firstLine, invalidVersion, type SkipReason } from './tracker-format.js';
import type { VulnRecord, VulnState } from './types.js';

const OsvEvent = z.object({
  introduced: z.string().optional(),
  fixed: z.string().optional(),
  last_affected: z.string().optional(),
});

const OsvRange = z.object({ type: z.string(), events: z.array(OsvEvent) });

const OsvUrgency = z.object({ urgency: z.string().optional() }).nullish();

const OsvAffected = z.object({
  package: z.object({ ecosystem: z.string(), name: z.string() }).optional(),
  ranges: z.array(OsvRange).optional(),
  ecosystem_specific: OsvUrgency,
});

const OsvVulnerability = z.object({
  id: z.string().min(1),
  modified: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).nullish(),
  upstream: z.array(z.string()).nullish(),
  summary: z.string().optional(),
  details: z.string().optional(),
  affected: z.array(OsvAffected).nullish(),
  database_specific: OsvUrgency,
});
export type OsvVulnerability = z.infer<typeof OsvVulnerability>;

/** OSV names Debian suites by major version; herd, apt and the tracker use codenames. */
const codenameByMajor: Record<string, string> = {
  '7': 'wheezy',
  '8': 'jessie',
  '9': 'stretch',
  '10': 'buster',
  '11': 'bullseye',
  '12': 'bookworm',
  '13': 'trixie',
  '14': 'forky',
  '15': 'duke',
};

/** `Debian:12` → `bookworm`; an unknown major stays as written, so it is reported, not dropped. */
export function codenameOfEcosystem(ecosystem: string): string | undefined {
  const match = /^Debian:(\d+)(?:\.\d+)*$/.exec(ecosystem);
  if (!match) return undefined;
  return codenameByMajor[match[1]!] ?? ecosystem;
}

export interface OsvResult {
  records: VulnRecord[];
  skipped: Record<SkipReason, number>;
  codenames: Set<string>;
  /** The record's `modified` time, when it has one. */
  modified?: Date;
}

/** A version range in dpkg order: [introduced, fixed), [introduced, lastAffected], or [introduced, ∞). */
interface AffectedInterval {
  introduced: string;
  end?: { kind: 'fixed'; version: string } | { kind: 'last-affected'; version: string };
}

/**
 * Maps one OSV record to records for the suites asked for. Withdrawn records, other ecosystems and
 * non-ECOSYSTEM ranges give nothing. Throws VULNDB_MALFORMED naming the input.
 */
export function osvToRecords(
  value: unknown,
  options: { suites?: ReadonlySet<string>; location: string },
): OsvResult {
  const parsed = OsvVulnerability.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new VulnDbError(
      'VULNDB_MALFORMED',
      `${options.location}${path ? `, at ${path}` : ''}: ${issue?.message ?? 'not an OSV record'}`,
    );
  }
  const osv = parsed.data;
  const modified = osv.modified ? new Date(osv.modified) : undefined;
  const result: OsvResult = {
    records: [],
    skipped: { 'not-affected': 0, undetermined: 0, 'other-suite': 0 },
    codenames: new Set(),
    ...(modified && !Number.isNaN(modified.getTime()) ? { modified } : {}),
  };
  if (osv.withdrawn) return result;
  const { id, aliases } = namesOf(osv);
  const description = firstLine(osv.summary || osv.details || '');
  for (const [index, affected] of (osv.affected ?? []).entries()) {
    const suite = affected.package ? codenameOfEcosystem(affected.package.ecosystem) : undefined;
    if (!suite || !affected.package) continue;
    result.codenames.add(suite);
    if (options.suites && !options.suites.has(suite)) {
      result.skipped['other-suite']++;
      continue;
    }
    const urgency =
      affected.ecosystem_specific?.urgency?.trim() ||
      osv.database_specific?.urgency?.trim() ||
      'not yet assigned';
    for (const range of affected.ranges ?? []) {
      if (range.type !== 'ECOSYSTEM') continue;
      for (const interval of intervalsOf(range.events)) {
        const invalid = [interval.introduced, interval.end?.version]
          .filter((v): v is string => v !== undefined && v !== '0')
          .map(invalidVersion)
          .find((why) => why !== undefined);
        if (invalid) {
          throw new VulnDbError('VULNDB_MALFORMED', `${options.location}, at affected.${index}: ${invalid}`);
        }
        if (interval.end?.kind === 'fixed' && interval.end.version === '0') {
          result.skipped['not-affected']++;
          continue;
        }
        const state: VulnState =
          interval.end?.kind === 'fixed'
            ? { kind: 'fixed', version: interval.end.version }
            : { kind: 'open' };
        result.records.push({
          id,
          source: affected.package.name,
          suite,
          state,
          urgency,
          description,
          ...(aliases.length > 0 ? { aliases } : {}),
          ...(interval.introduced !== '0' ? { introduced: interval.introduced } : {}),
          ...(interval.end?.kind === 'last-affected' ? { lastAffected: interval.end.version } : {}),
        });
      }
    }
  }
  return result;
}

/** OSV's events, in order, as intervals (the schema's own evaluation: introduced opens, fixed or last_affected closes). */
function intervalsOf(events: z.infer<typeof OsvEvent>[]): AffectedInterval[] {
  const intervals: AffectedInterval[] = [];
  let open: string | undefined;
  for (const event of events) {
    if (event.introduced !== undefined) {
      open = event.introduced;
    } else if (event.fixed !== undefined && open !== undefined) {
      intervals.push({ introduced: open, end: { kind: 'fixed', version: event.fixed } });
      open = undefined;
    } else if (event.last_affected !== undefined && open !== undefined) {
      intervals.push({ introduced: open, end: { kind: 'last-affected', version: event.last_affected } });
      open = undefined;
    }
  }
  if (open !== undefined) intervals.push({ introduced: open });
  return intervals;
}

/**
 * `DEBIAN-CVE-2024-1234` (upstream `CVE-2024-1234`) is known by its CVE, like the tracker's own
 * records; an advisory (`DSA-…`) keeps its id and lists its CVEs as aliases.
 */
function namesOf(osv: OsvVulnerability): { id: string; aliases: string[] } {
  const others = [...(osv.upstream ?? []), ...(osv.aliases ?? [])];
  const upstreamId = osv.id.startsWith('DEBIAN-') ? osv.id.slice('DEBIAN-'.length) : undefined;
  const id = upstreamId && others.includes(upstreamId) ? upstreamId : osv.id;
  const aliases = [...new Set([...others, ...(id === osv.id ? [] : [osv.id])])].filter((name) => name !== id);
  return { id, aliases: aliases.sort() };
}
