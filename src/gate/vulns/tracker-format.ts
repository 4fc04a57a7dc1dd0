/**
 * The Debian security tracker's JSON export (its `data/json` page), read one source package at a
 * time. The export is written by the tracker's own code (security-tracker, lib/python/security_db.py);
 * `classifyTrackerRelease` below holds what herd makes of each field. The tracker says "release"
 * for what herd calls a suite (a codename such as bookworm); its keys are kept as it spells them.
 * Shape of one member:
 *
 *   "<source>": { "<CVE-… or TEMP-…>": { description, scope, debianbug,
 *     releases: { "<codename>": { status, repositories: { "<suite>": "<version>" },
 *                                 fixed_version, urgency, nodsa, nodsa_reason } } } }
 */
import { z } from 'zod';
import { parseDebianVersion } from '../../debian/index.js';
import { VulnDbError } from './errors.js';
import { bareUrgency } from './severity.js';
import type { VulnRecord, VulnState, WillNotFixReason } from './types.js';

/** Only the fields matching uses; `repositories`, `scope` and `debianbug` are left unread. */
const TrackerRelease = z.object({
  status: z.string(),
  fixed_version: z.string().nullish(),
  urgency: z.string().nullish(),
  nodsa: z.string().nullish(),
  nodsa_reason: z.string().nullish(),
});
export type TrackerRelease = z.infer<typeof TrackerRelease>;

const TrackerIssue = z.object({
  description: z.string().nullish(),
  releases: z.record(z.string(), TrackerRelease),
});

const TrackerSource = z.record(z.string(), TrackerIssue);

export type SkipReason = 'not-affected' | 'undetermined' | 'other-suite';

export type TrackerVerdict =
  | { kind: 'record'; state: VulnState }
  | { kind: 'skip'; why: Exclude<SkipReason, 'other-suite'> }
  | { kind: 'invalid'; why: string };

/**
 * What one suite's entry (the tracker's `releases.<codename>`) means for matching. Pure; the cases
 * follow the tracker's semantics as trivy-db (pkg/vulnsrc/debian) and vunnel (providers/debian)
 * read them:
 * - `undetermined` is nobody's verdict yet: not a finding;
 * - fixed_version `0`: the suite was never affected;
 * - any other fixed_version is a fix, whatever the status says. trivy-db likewise lets a real
 *   fixed version override a no-dsa or postponed note, which can lag behind a point release;
 * - `resolved` without a version has nothing left to fix;
 * - `open`: will-not-fix when the support ended (`end-of-life` urgency) or a no-dsa note says so,
 *   otherwise unfixed.
 * The tracker has already folded every suite of the codename (bookworm, bookworm-security, …) into
 * this status and fixed_version, so `repositories` is not needed to decide anything.
 */
export function classifyTrackerRelease(entry: TrackerRelease): TrackerVerdict {
  const fixed = entry.fixed_version?.trim() ?? '';
  switch (entry.status) {
    case 'undetermined':
      return { kind: 'skip', why: 'undetermined' };
    case 'resolved':
    case 'open': {
      if (fixed === '0') return { kind: 'skip', why: 'not-affected' };
      if (fixed !== '') {
        const invalid = invalidVersion(fixed);
        if (invalid) return { kind: 'invalid', why: `fixed_version ${invalid}` };
        return { kind: 'record', state: { kind: 'fixed', version: fixed } };
      }
      if (entry.status === 'resolved') return { kind: 'skip', why: 'not-affected' };
      const reason = willNotFixReason(entry);
      return { kind: 'record', state: reason ? { kind: 'will-not-fix', reason } : { kind: 'open' } };
    }
    default:
      return {
        kind: 'invalid',
        why: `status is "${entry.status}", expected "resolved", "open" or "undetermined"`,
      };
  }
}

function willNotFixReason(entry: TrackerRelease): WillNotFixReason | undefined {
  if (bareUrgency(entry.urgency ?? '') === 'end-of-life') return 'end-of-life';
  const reason = entry.nodsa_reason?.trim().toLowerCase();
  if (reason === 'ignored' || reason === 'postponed') return reason;
  // The note's text is free-form ("Minor issue"); that a note exists is what counts.
  if (entry.nodsa != null || (reason !== undefined && reason !== '')) return 'no-dsa';
  return undefined;
}

export interface TrackerSourceResult {
  records: VulnRecord[];
  skipped: Record<SkipReason, number>;
  /** Every codename the member mentions, kept or not, so a suite asked for can be checked. */
  codenames: Set<string>;
}

/**
 * Maps one top-level member of the export to records for the suites asked for (all when
 * `suites` is undefined). Throws VULNDB_MALFORMED naming the input, the byte offset and the key.
 */
export function trackerSourceToRecords(
  source: string,
  value: unknown,
  options: { suites?: ReadonlySet<string>; location: string; offset: number },
): TrackerSourceResult {
  const where = `${options.location}: source package "${source}" (byte ${options.offset})`;
  const parsed = TrackerSource.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const hint = source === 'id' || source === 'schema_version' ? ' (an OSV record? pass its directory)' : '';
    throw new VulnDbError(
      'VULNDB_MALFORMED',
      `${where}${path ? `, at ${path}` : ''}: ${issue?.message ?? 'unexpected shape'}${hint}`,
    );
  }
  const result: TrackerSourceResult = {
    records: [],
    skipped: { 'not-affected': 0, undetermined: 0, 'other-suite': 0 },
    codenames: new Set(),
  };
  for (const [id, issue] of Object.entries(parsed.data)) {
    const description = firstLine(issue.description ?? '');
    for (const [suite, entry] of Object.entries(issue.releases)) {
      result.codenames.add(suite);
      if (options.suites && !options.suites.has(suite)) {
        result.skipped['other-suite']++;
        continue;
      }
      const verdict = classifyTrackerRelease(entry);
      switch (verdict.kind) {
        case 'skip':
          result.skipped[verdict.why]++;
          break;
        case 'invalid':
          throw new VulnDbError('VULNDB_MALFORMED', `${where}, at ${id}.releases.${suite}: ${verdict.why}`);
        case 'record':
          result.records.push({
            id,
            source,
            suite,
            state: verdict.state,
            urgency: entry.urgency?.trim() || 'not yet assigned',
            description,
          });
      }
    }
  }
  return result;
}

/** A description's first line, capped: reports show one line, and the cache need not hold essays. */
export function firstLine(text: string): string {
  const line = text.trim().split('\n', 1)[0]?.trim() ?? '';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** Why dpkg would refuse `version`, or undefined when it is valid. */
export function invalidVersion(version: string): string | undefined {
  try {
    parseDebianVersion(version);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
