/**
 * The verdict as SARIF 2.1.0, for code-scanning tools (GitHub code scanning, DefectDojo, VS Code's
 * SARIF viewer). One run; every rule the gate knows is in `tool.driver.rules`, plus one per
 * vulnerability found. Paths in the image are artifact URIs relative to the `ROOTFS` base; findings
 * about the config or a package without a file get a logical location. Waived findings are results
 * with an accepted external suppression, so tools show them as dismissed rather than hide them.
 * Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 */
import { createHash } from 'node:crypto';
import type { Finding, Level } from '../findings.js';
import type { Verdict, VerdictFinding } from '../verdict.js';
import { knownRules, type RuleMetadata, vulnerabilityRule } from './rule-metadata.js';

export const sarifSchemaUri = 'https://json.schemastore.org/sarif-2.1.0.json';

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string };
  helpUri?: string;
  defaultConfiguration: { level: SarifLevel };
  properties: {
    tags: string[];
    precision: 'high' | 'medium';
    'security-severity': string;
    references?: string[];
  };
}

export interface SarifLocation {
  physicalLocation?: {
    artifactLocation: { uri: string; uriBaseId: 'ROOTFS' };
    region?: { startLine: number };
  };
  logicalLocations?: { name: string; fullyQualifiedName: string; kind: string }[];
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: SarifLocation[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: 'external'; status: 'accepted'; justification: string }[];
  properties: { fails: boolean; kind: Finding['kind'] };
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; rules: SarifRule[] } };
    originalUriBaseIds: { ROOTFS: { uri: string; description: { text: string } } };
    invocations: { executionSuccessful: boolean; endTimeUtc: string }[];
    results: SarifResult[];
    properties: Record<string, unknown>;
  }[];
}

export function sarifReport(verdict: Verdict, options: { toolVersion?: string } = {}): SarifLog {
  const rules: RuleMetadata[] = knownRules();
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const ruleIndexOf = (finding: Finding): number => {
    const known = index.get(finding.rule);
    if (known !== undefined) return known;
    // Vulnerabilities and any rule a newer gate wrote into a stored verdict get a rule of their own.
    rules.push(
      finding.kind === 'vulnerability'
        ? vulnerabilityRule(finding)
        : {
            id: finding.rule,
            name: finding.rule.toLowerCase(),
            title: finding.rule,
            rationale: finding.message,
            level: finding.level,
            kind: finding.kind,
            references: [],
          },
    );
    index.set(finding.rule, rules.length - 1);
    return rules.length - 1;
  };
  const results = [
    ...verdict.findings.map((finding) => resultOf(finding, { ruleIndex: ruleIndexOf(finding) })),
    ...verdict.waived.map(({ finding, waiver }) => ({
      ...resultOf(finding, { ruleIndex: ruleIndexOf(finding) }),
      suppressions: [
        {
          kind: 'external' as const,
          status: 'accepted' as const,
          justification: `${waiver.reason} (owner ${waiver.owner}, expires ${waiver.expires})`,
        },
      ],
    })),
  ];
  return {
    $schema: sarifSchemaUri,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'herd gate',
            version: options.toolVersion ?? '0.0.0',
            rules: rules.map(sarifRuleOf),
          },
        },
        originalUriBaseIds: {
          ROOTFS: { uri: 'file:///', description: { text: `the root filesystem of image ${verdict.image}` } },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: verdict.evaluatedAt }],
        results,
        properties: {
          image: verdict.image,
          profile: verdict.profile,
          passed: verdict.passed,
          vulndb: verdict.vulndb,
          summary: verdict.summary,
          expiredWaivers: verdict.expiredWaivers,
        },
      },
    ],
  };
}

export function formatSarifReport(verdict: Verdict, options: { toolVersion?: string } = {}): string {
  return `${JSON.stringify(sarifReport(verdict, options), null, 2)}\n`;
}

function resultOf(finding: Finding & { fails: boolean }, context: { ruleIndex: number }): SarifResult {
  return {
    ruleId: finding.rule,
    ruleIndex: context.ruleIndex,
    level: sarifLevel(finding.level),
    message: { text: messageOf(finding) },
    locations: [locationOf(finding)],
    partialFingerprints: { 'herdFinding/v1': fingerprintOf(finding) },
    properties: { fails: finding.fails, kind: finding.kind },
  };
}

function messageOf(finding: Finding & { expiredWaiver?: VerdictFinding['expiredWaiver'] }): string {
  return finding.expiredWaiver
    ? `${finding.message} (a waiver covered this until ${finding.expiredWaiver.expires}; it has expired)`
    : finding.message;
}

function locationOf(finding: Finding): SarifLocation {
  const location = finding.kind === 'vulndb' ? undefined : finding.location;
  if (location?.path) {
    return {
      physicalLocation: {
        artifactLocation: { uri: encodeURI(location.path.replace(/^\/+/, '')), uriBaseId: 'ROOTFS' },
        ...(location.line ? { region: { startLine: location.line } } : {}),
      },
    };
  }
  const name = location?.package ?? location?.setting ?? 'image';
  const kind = location?.package ? 'package' : 'setting';
  return {
    logicalLocations: [
      { name, fullyQualifiedName: `${kind}:${name}`, kind: location?.package ? 'module' : 'member' },
    ],
  };
}

/** Stable across runs for the same finding, so tools track it; for secrets, the secret's own fingerprint. */
function fingerprintOf(finding: Finding): string {
  if (finding.kind === 'secret' && finding.fingerprint) return `${finding.rule}:${finding.fingerprint}`;
  const location = finding.kind === 'vulndb' ? undefined : finding.location;
  const key = [
    finding.rule,
    location?.path ?? '',
    location?.package ?? '',
    location?.setting ?? '',
    finding.kind === 'secret' ? '' : finding.message,
  ].join('\0');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function sarifRuleOf(rule: RuleMetadata): SarifRule {
  const references = rule.references.map((reference) => `${reference.id}: ${reference.title}`);
  return {
    id: rule.id,
    name: rule.name,
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.rationale },
    help: { text: rule.rationale },
    ...(rule.helpUri ? { helpUri: rule.helpUri } : {}),
    defaultConfiguration: { level: sarifLevel(rule.level) },
    properties: {
      tags: ['security', rule.kind, ...rule.references.map((reference) => reference.id)],
      precision: rule.kind === 'secret' && rule.id === 'HERD-S011' ? 'medium' : 'high',
      'security-severity': securitySeverity(rule),
      ...(references.length > 0 ? { references } : {}),
    },
  };
}

function sarifLevel(level: Level): SarifLevel {
  switch (level) {
    case 'error':
      return 'error';
    case 'warning':
      return 'warning';
    case 'info':
      return 'note';
  }
}

/** GitHub's scale: 9+ critical, 7+ high, 4+ medium, below that low. */
function securitySeverity(rule: RuleMetadata): string {
  if (rule.kind === 'secret') return '9.0';
  switch (rule.level) {
    case 'error':
      return rule.kind === 'vulnerability' ? '8.0' : '7.0';
    case 'warning':
      return '4.0';
    case 'info':
      return '1.0';
  }
}
