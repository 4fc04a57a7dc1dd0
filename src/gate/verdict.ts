/**
 * The verdict: every finding with whether it fails under the profile, the waivers that excuse some
 * of them, the waivers that have expired, and pass or fail. Pure: the findings, the waivers, the
 * vulndb state and "now" are handed in, so the same inputs always give the same verdict.
 */
import type { GateWaiver } from '../specfile/index.js';
import type { Finding, Level, Profile } from './findings.js';
import { failsUnder } from './profiles.js';
import type { SecretScanStats } from './secrets/scan-secrets.js';
import { type VulndbState, type VulndbSummary, vulndbFindings, vulndbSummary } from './vulndb-state.js';
import { isWaiverActive, waiverCovers, waiverEnd } from './waivers.js';

export const verdictArtifactType = 'application/vnd.herd.gate-verdict.v1+json';

/** A finding as the verdict reports it; `expiredWaiver` when a waiver would have covered it but expired. */
export type VerdictFinding = Finding & { fails: boolean; expiredWaiver?: GateWaiver };

export interface WaivedFinding {
  /** `fails` says whether it would fail without the waiver. */
  finding: Finding & { fails: boolean };
  waiver: GateWaiver;
}

export interface ExpiredWaiver {
  waiver: GateWaiver;
  /** The first day it no longer applied, YYYY-MM-DD. */
  expiredOn: string;
  /** Findings of this run it would have covered. */
  covers: number;
}

export interface VerdictSummary {
  /** Findings that fail the gate (after waivers). */
  failing: number;
  byLevel: Record<Level, number>;
  waived: number;
  expiredWaivers: number;
  secretScan: SecretScanStats;
}

export interface Verdict {
  image: string;
  profile: Profile;
  passed: boolean;
  /** ISO 8601, from the injected clock. */
  evaluatedAt: string;
  vulndb: VulndbSummary;
  findings: VerdictFinding[];
  waived: WaivedFinding[];
  expiredWaivers: ExpiredWaiver[];
  summary: VerdictSummary;
}

export interface VerdictInput {
  image: string;
  profile: Profile;
  now: Date;
  /** Hardening, secret and vulnerability findings; the vulndb notices are added here. */
  findings: readonly Finding[];
  waivers: readonly GateWaiver[];
  vulndb: VulndbState;
  /** For the summary and for stale-data checks; `gate.vulndb.maxAgeDays`. */
  maxAgeDays: number;
  secretScan: SecretScanStats;
}

export function decideVerdict(input: VerdictInput): Verdict {
  const active = input.waivers.filter((waiver) => isWaiverActive(waiver, input.now));
  const expired = input.waivers.filter((waiver) => !isWaiverActive(waiver, input.now));
  const findings: VerdictFinding[] = [];
  const waived: WaivedFinding[] = [];
  const every = [...input.findings, ...vulndbFindings(input.vulndb)];
  for (const finding of every) {
    const fails = failsUnder(input.profile, finding);
    const waiver = active.find((w) => waiverCovers(w, finding));
    if (waiver) {
      waived.push({ finding: { ...finding, fails }, waiver });
      continue;
    }
    const lapsed = expired.find((w) => waiverCovers(w, finding));
    findings.push({ ...finding, fails, ...(lapsed ? { expiredWaiver: lapsed } : {}) });
  }
  const expiredWaivers = expired.map((waiver) => ({
    waiver,
    expiredOn: waiverEnd(waiver).toISOString().slice(0, 10),
    covers: every.filter((finding) => waiverCovers(waiver, finding)).length,
  }));
  const failing = findings.filter((finding) => finding.fails).length;
  const byLevel: Record<Level, number> = { error: 0, warning: 0, info: 0 };
  for (const finding of findings) byLevel[finding.level]++;
  return {
    image: input.image,
    profile: input.profile,
    passed: failing === 0,
    evaluatedAt: input.now.toISOString(),
    vulndb: vulndbSummary(input.vulndb, { maxAgeDays: input.maxAgeDays }),
    findings: sortFindings(findings),
    waived,
    expiredWaivers,
    summary: {
      failing,
      byLevel,
      waived: waived.length,
      expiredWaivers: expiredWaivers.length,
      secretScan: input.secretScan,
    },
  };
}

const levelOrder: Record<Level, number> = { error: 0, warning: 1, info: 2 };

/** Failing first, then by level, rule and place, so reports and stored verdicts are stable. */
function sortFindings(findings: VerdictFinding[]): VerdictFinding[] {
  const placeOf = (finding: VerdictFinding) =>
    finding.kind === 'vulndb'
      ? ''
      : `${finding.location?.path ?? ''}\0${String(finding.location?.line ?? 0).padStart(9, '0')}\0${finding.message}`;
  return [...findings].sort(
    (a, b) =>
      Number(b.fails) - Number(a.fails) ||
      levelOrder[a.level] - levelOrder[b.level] ||
      compareText(a.rule, b.rule) ||
      compareText(placeOf(a), placeOf(b)),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
