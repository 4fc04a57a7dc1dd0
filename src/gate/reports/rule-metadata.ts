/**
 * What reports say about a rule, whatever checked it: hardening rules, secret rules, the vulndb
 * notices, and vulnerabilities, whose "rule" is the CVE itself.
 */
import type { Finding, Level } from '../findings.js';
import { helpUriOf, type RuleReference } from '../rules/references.js';
import { hardeningRules } from '../rules/registry.js';
import { secretRules } from '../secrets/secret-rules.js';
import { vulndbRules } from '../vulndb-state.js';

export interface RuleMetadata {
  id: string;
  name: string;
  title: string;
  rationale: string;
  helpUri?: string;
  /** The level a finding of the rule usually has. */
  level: Level;
  kind: Finding['kind'];
  references: readonly RuleReference[];
}

/** Every rule the gate knows by id, in id order within each kind. */
export function knownRules(): RuleMetadata[] {
  return [
    ...[...hardeningRules.values()].map((rule): RuleMetadata => {
      const helpUri = helpUriOf(rule.references);
      return {
        id: rule.id,
        name: rule.name,
        title: rule.title,
        rationale: rule.rationale,
        ...(helpUri ? { helpUri } : {}),
        level: rule.severity,
        kind: 'hardening',
        references: rule.references,
      };
    }),
    ...[...secretRules.values()].map(
      (rule): RuleMetadata => ({
        id: rule.id,
        name: rule.name,
        title: rule.title,
        rationale: rule.rationale,
        ...(rule.helpUri ? { helpUri: rule.helpUri } : {}),
        level: 'error',
        kind: 'secret',
        references: [],
      }),
    ),
    ...Object.values(vulndbRules).map(
      (rule): RuleMetadata => ({ ...rule, level: 'warning', kind: 'vulndb', references: [] }),
    ),
  ];
}

/** A vulnerability as a rule: its id, and the tracker's page about it. */
export function vulnerabilityRule(finding: Extract<Finding, { kind: 'vulnerability' }>): RuleMetadata {
  return {
    id: finding.cve,
    name: 'debian-vulnerability',
    title: finding.description || `${finding.cve} in ${finding.source}`,
    rationale: `A known vulnerability in the Debian source package ${finding.source}, urgency ${finding.urgency}.`,
    helpUri: trackerUri(finding.cve),
    level: finding.level,
    kind: 'vulnerability',
    references: [],
  };
}

/** The Debian security tracker's page; it knows CVE and TEMP- ids. OSV ids go to osv.dev. */
function trackerUri(id: string): string {
  return /^(?:CVE|TEMP)-/.test(id)
    ? `https://security-tracker.debian.org/tracker/${encodeURIComponent(id)}`
    : `https://osv.dev/vulnerability/${encodeURIComponent(id)}`;
}
