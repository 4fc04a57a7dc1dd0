import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../findings.js';
import type { SecretScanStats } from '../secrets/scan-secrets.js';
import { decideVerdict } from '../verdict.js';
import { vulnerabilityFindings } from '../vulnerability-findings.js';
import { sarifReport } from './sarif-report.js';

const scan: SecretScanStats = {
  files: 3,
  scanned: 3,
  skippedTooLarge: 0,
  skippedBinary: 0,
  skippedKnownSafe: 0,
};

const findings: Finding[] = [
  {
    kind: 'hardening',
    rule: 'HERD-H001',
    level: 'error',
    message: 'runs as root',
    location: { setting: 'config.User' },
  },
  {
    kind: 'hardening',
    rule: 'HERD-H002',
    level: 'error',
    message: '/usr/bin/ping is setuid',
    location: { path: '/usr/bin/ping', package: 'iputils-ping' },
  },
  {
    kind: 'secret',
    rule: 'HERD-S001',
    level: 'error',
    message: 'private key (PEM block) in /app/my key.pem at line 3',
    location: { path: '/app/my key.pem', line: 3 },
    fingerprint: '0123456789abcdef',
  },
  ...vulnerabilityFindings(
    [
      {
        cve: 'CVE-2025-0001',
        aliases: [],
        source: 'openssl',
        packages: ['libssl3'],
        installedVersion: '3.0.11-1',
        fixedVersion: '3.0.13-1',
        status: 'fixed-available',
        severity: 'high',
        severityInferred: false,
        urgency: 'high',
        description: 'a flaw in openssl',
        suite: 'bookworm',
      },
    ],
    { recordPaths: new Map([['libssl3', '/var/lib/dpkg/status.d/libssl3']]) },
  ),
];

const verdict = decideVerdict({
  image: 'sha256:abc',
  profile: 'strict',
  now: new Date('2025-03-02T00:00:00Z'),
  findings,
  waivers: [
    {
      kind: 'rule',
      rule: 'HERD-H002',
      reason: 'ping needs raw sockets',
      owner: 'net',
      expires: '2025-12-31',
    },
  ],
  vulndb: { kind: 'unchecked' },
  maxAgeDays: 7,
  secretScan: scan,
});

const log = sarifReport(verdict, { toolVersion: '0.1.0' });
const [run] = log.runs;

/** The fields SARIF 2.1.0 requires, and the enumerations it allows, checked by hand (§3.13 to §3.34). */
describe('the SARIF report', () => {
  it('is a SARIF 2.1.0 log with one run and a named, versioned tool', () => {
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif-2\.1\.0/);
    assert.equal(log.runs.length, 1);
    assert.ok(run?.tool.driver.name);
    assert.equal(run?.tool.driver.version, '0.1.0');
  });

  it('describes every rule with an id, descriptions, a default level and properties', () => {
    const ids = run?.tool.driver.rules.map((rule) => rule.id) ?? [];

    assert.equal(new Set(ids).size, ids.length, 'rule ids are unique');
    for (const id of ['HERD-H001', 'HERD-H013', 'HERD-S001', 'HERD-S011', 'HERD-V001', 'CVE-2025-0001']) {
      assert.ok(ids.includes(id), id);
    }
    for (const rule of run?.tool.driver.rules ?? []) {
      assert.ok(rule.shortDescription.text && rule.fullDescription.text, rule.id);
      assert.ok(['error', 'warning', 'note'].includes(rule.defaultConfiguration.level), rule.id);
      assert.ok(Array.isArray(rule.properties.tags) && rule.properties.tags.includes('security'), rule.id);
      assert.match(rule.properties['security-severity'], /^\d+\.\d$/, rule.id);
      if (rule.helpUri !== undefined) assert.ok(URL.canParse(rule.helpUri), rule.id);
    }
    assert.equal(
      run?.tool.driver.rules.find((rule) => rule.id === 'HERD-H001')?.helpUri,
      'https://github.com/goodwithtech/dockle/blob/master/CHECKPOINT.md#cis-di-0001',
    );
  });

  it('gives each result a rule id and index that agree, a level, a message and a location', () => {
    assert.equal(run?.results.length, verdict.findings.length + verdict.waived.length);
    for (const result of run?.results ?? []) {
      assert.equal(run?.tool.driver.rules[result.ruleIndex]?.id, result.ruleId);
      assert.ok(['error', 'warning', 'note'].includes(result.level));
      assert.ok(result.message.text.length > 0);
      assert.equal(result.locations.length, 1);
      const [location] = result.locations;
      assert.ok(location?.physicalLocation || location?.logicalLocations?.length, result.ruleId);
      assert.ok(Object.values(result.partialFingerprints).every((value) => value.length > 0));
    }
  });

  it('locates files by their image path, relative to ROOTFS and percent-encoded, with the line', () => {
    const key = run?.results.find((result) => result.ruleId === 'HERD-S001');

    assert.deepEqual(key?.locations[0]?.physicalLocation, {
      artifactLocation: { uri: 'app/my%20key.pem', uriBaseId: 'ROOTFS' },
      region: { startLine: 3 },
    });
    assert.equal(run?.originalUriBaseIds.ROOTFS.uri, 'file:///');
  });

  it('locates a vulnerability at its package record and config findings logically', () => {
    const cve = run?.results.find((result) => result.ruleId === 'CVE-2025-0001');
    const user = run?.results.find((result) => result.ruleId === 'HERD-H001');

    assert.equal(cve?.locations[0]?.physicalLocation?.artifactLocation.uri, 'var/lib/dpkg/status.d/libssl3');
    assert.deepEqual(user?.locations[0]?.logicalLocations, [
      { name: 'config.User', fullyQualifiedName: 'setting:config.User', kind: 'member' },
    ]);
  });

  it('keeps waived findings as results with an accepted external suppression', () => {
    const ping = run?.results.find((result) => result.ruleId === 'HERD-H002');

    assert.deepEqual(ping?.suppressions, [
      {
        kind: 'external',
        status: 'accepted',
        justification: 'ping needs raw sockets (owner net, expires 2025-12-31)',
      },
    ]);
  });

  it('carries the verdict itself in the run properties', () => {
    assert.equal(run?.properties.passed, false);
    assert.equal(run?.properties.profile, 'strict');
    assert.equal(run?.properties.image, 'sha256:abc');
  });
});
