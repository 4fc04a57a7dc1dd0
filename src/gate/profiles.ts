/**
 * What fails the gate under each profile. The profiles differ in what an image may contain, not in
 * how much risk they accept: `strict` also evaluates the strict-only rules (no shell, no package
 * manager, for distroless-style images), and both fail on a hardening error, on any secret, and on
 * a fixed-available vulnerability of high urgency, the one a rebuild fixes. Warnings and info never
 * fail. The README's table repeats this; profiles.test.ts checks them against each other.
 */
import type { Finding, Profile } from './findings.js';
import { hardeningRules } from './rules/registry.js';
import { isHighUrgency } from './vulnerability-findings.js';

export function failsUnder(profile: Profile, finding: Finding): boolean {
  switch (finding.kind) {
    case 'hardening': {
      // A strict-only rule's finding cannot fail a profile that does not evaluate the rule.
      const rule = hardeningRules.get(finding.rule);
      return finding.level === 'error' && (rule === undefined || rule.profiles.includes(profile));
    }
    case 'secret':
      return true;
    case 'vulnerability':
      return finding.status === 'fixed-available' && isHighUrgency(finding);
    case 'vulndb':
      return false;
  }
}
