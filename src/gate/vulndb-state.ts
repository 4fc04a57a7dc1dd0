/**
 * Whether vulnerabilities were checked, and with how old data. The age is reported in every
 * verdict; stale or missing data is a warning in both profiles, as the issue asks: the verdict
 * still says what the data knew, and `herd vulndb update` is the fix. Pure.
 */
import type { VulndbFinding } from './findings.js';
import type { VulnDbAge } from './vulns/index.js';

export type VulndbState = { kind: 'unchecked' } | { kind: 'checked'; age: VulnDbAge; maxAgeDays: number };

export const vulndbRules = {
  stale: {
    id: 'HERD-V001',
    name: 'vulndb-stale',
    title: 'The vulnerability data is older than gate.vulndb.maxAgeDays',
    rationale:
      'Fixes published since the data was fetched are unknown to the gate: an image may pass with a vulnerability that a rebuild would fix. Run herd vulndb update.',
  },
  unchecked: {
    id: 'HERD-V002',
    name: 'vulndb-unchecked',
    title: 'Vulnerabilities were not checked',
    rationale:
      'The gate ran without vulnerability data, so the verdict says nothing about known vulnerabilities.',
  },
} as const;

export interface VulndbSummary {
  /** Days, fractional; null when vulnerabilities were not checked. */
  age: number | null;
  /** The date the age counts from: the data's own date, else when it was fetched. */
  since?: string;
  stale: boolean;
  maxAgeDays: number;
}

export function vulndbSummary(state: VulndbState, options: { maxAgeDays: number }): VulndbSummary {
  switch (state.kind) {
    case 'unchecked':
      return { age: null, stale: false, maxAgeDays: options.maxAgeDays };
    case 'checked':
      return {
        age: Math.round(state.age.days * 100) / 100,
        since: state.age.since,
        stale: state.age.days > state.maxAgeDays,
        maxAgeDays: state.maxAgeDays,
      };
  }
}

export function vulndbFindings(state: VulndbState): VulndbFinding[] {
  switch (state.kind) {
    case 'unchecked':
      return [
        {
          kind: 'vulndb',
          rule: vulndbRules.unchecked.id,
          level: 'warning',
          message: 'vulnerabilities were not checked: no vulnerability data was given to the gate',
        },
      ];
    case 'checked':
      if (state.age.days <= state.maxAgeDays) return [];
      return [
        {
          kind: 'vulndb',
          rule: vulndbRules.stale.id,
          level: 'warning',
          message: `the vulnerability data is ${state.age.days.toFixed(1)} days old (since ${state.age.since}), older than the ${state.maxAgeDays}-day limit: run herd vulndb update`,
        },
      ];
  }
}
