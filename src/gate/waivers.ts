/**
 * Waivers from the spec's `gate.waivers`: which findings each covers and whether it still applies.
 * Pure; "now" is handed in. A waiver applies through the whole of its expiry day in UTC, so
 * `expires: 2025-03-31` covers a gate run at 23:59Z that day and none after.
 */
import type { GateWaiver } from '../specfile/index.js';
import { type Finding, pathOf } from './findings.js';

const dayMs = 86_400_000;

/** The first instant the waiver no longer applies. */
export function waiverEnd(waiver: GateWaiver): Date {
  return new Date(Date.parse(`${waiver.expires}T00:00:00Z`) + dayMs);
}

export function isWaiverActive(waiver: GateWaiver, now: Date): boolean {
  return now.getTime() < waiverEnd(waiver).getTime();
}

/**
 * A rule waiver covers that rule's findings, only at `path` when it names one. A CVE waiver covers
 * the vulnerability by its id or any of its aliases (OSV names the same issue by DSA and CVE).
 */
export function waiverCovers(waiver: GateWaiver, finding: Finding): boolean {
  switch (waiver.kind) {
    case 'rule':
      if (finding.kind === 'vulnerability' || finding.rule !== waiver.rule) return false;
      return waiver.path === undefined || pathOf(finding) === waiver.path;
    case 'cve':
      return (
        finding.kind === 'vulnerability' &&
        (finding.cve === waiver.cve || finding.aliases.includes(waiver.cve))
      );
  }
}

/** How a waiver is named in reports: `HERD-H002 at /usr/bin/ping` or `CVE-2024-1234`. */
export function describeWaiver(waiver: GateWaiver): string {
  switch (waiver.kind) {
    case 'rule':
      return waiver.path === undefined ? waiver.rule : `${waiver.rule} at ${waiver.path}`;
    case 'cve':
      return waiver.cve;
  }
}
