import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GateWaiver } from '../specfile/gate-section.js';
import type { Finding, HardeningFinding, SecretFinding } from './findings.js';
import type { SecretScanStats } from './secrets/scan-secrets.js';
import { decideVerdict, type VerdictInput } from './verdict.js';
import { vulnerabilityFindings } from './vulnerability-findings.js';
import type { VulnFinding } from './vulns/index.js';

const scan: SecretScanStats = {
  files: 0,
  scanned: 0,
  skippedTooLarge: 0,
  skippedBinary: 0,
  skippedKnownSafe: 0,
};
const fresh = { days: 1, since: '2025-03-01T00:00:00Z', basis: 'data-date' as const };

function input(findings: Finding[], options: Partial<VerdictInput> = {}): VerdictInput {
  return {
    image: 'sha256:abc',
    profile: 'baseline',
    now: new Date('2025-03-02T12:00:00Z'),
    findings,
    waivers: [],
    vulndb: { kind: 'checked', age: fresh, maxAgeDays: 7 },
    maxAgeDays: 7,
    secretScan: scan,
    ...options,
  };
}

const hardening = (rule: string, level: HardeningFinding['level'], path?: string): HardeningFinding => ({
  kind: 'hardening',
  rule,
  level,
  message: `${rule} finding`,
  ...(path ? { location: { path } } : {}),
});

const secret: SecretFinding = {
  kind: 'secret',
  rule: 'HERD-S001',
  level: 'error',
  message: 'private key (PEM block) in /app/key.pem at line 1',
  location: { path: '/app/key.pem', line: 1 },
  fingerprint: '0123456789abcdef',
};

function vulnerability(overrides: Partial<VulnFinding>): Finding {
  const match: VulnFinding = {
    cve: 'CVE-2025-0001',
    aliases: [],
    source: 'openssl',
    packages: ['libssl3'],
    installedVersion: '3.0.11-1~deb12u1',
    fixedVersion: '3.0.11-1~deb12u2',
    status: 'fixed-available',
    severity: 'high',
    severityInferred: false,
    urgency: 'high',
    description: '',
    suite: 'bookworm',
    ...overrides,
  };
  const [finding] = vulnerabilityFindings([match]);
  if (!finding) throw new Error('expected a finding');
  return finding;
}

const waiver = (overrides: Partial<GateWaiver> & ({ rule: string } | { cve: string })): GateWaiver =>
  ({
    kind: 'cve' in overrides ? 'cve' : 'rule',
    reason: 'accepted risk',
    owner: 'security@example.com',
    expires: '2025-03-31',
    ...overrides,
  }) as GateWaiver;

describe('the verdict', () => {
  it('passes an image with no findings and reports when it was evaluated', () => {
    const verdict = decideVerdict(input([]));

    assert.equal(verdict.passed, true);
    assert.equal(verdict.evaluatedAt, '2025-03-02T12:00:00.000Z');
    assert.deepEqual(verdict.vulndb, { age: 1, since: '2025-03-01T00:00:00Z', stale: false, maxAgeDays: 7 });
  });

  it('fails on a hardening error, a secret, or a fixed-available vulnerability of high urgency, in both profiles', () => {
    for (const profile of ['baseline', 'strict'] as const) {
      for (const finding of [hardening('HERD-H001', 'error'), secret, vulnerability({})]) {
        assert.equal(
          decideVerdict(input([finding], { profile })).passed,
          false,
          `${profile} ${finding.rule}`,
        );
      }
    }
  });

  it('passes on warnings, info, unfixed and will-not-fix vulnerabilities, and fixed-available ones of lower urgency', () => {
    const findings = [
      hardening('HERD-H007', 'warning'),
      hardening('HERD-H012', 'info'),
      vulnerability({ cve: 'CVE-2025-0002', status: 'unfixed', severity: 'high', urgency: 'high' }),
      vulnerability({ cve: 'CVE-2025-0003', status: 'will-not-fix', reason: 'no-dsa' }),
      vulnerability({ cve: 'CVE-2025-0004', severity: 'medium', urgency: 'medium' }),
    ];

    const verdict = decideVerdict(input(findings, { profile: 'strict' }));

    assert.equal(verdict.passed, true);
    assert.equal(verdict.findings.filter((f) => f.fails).length, 0);
  });

  it('counts an inferred high urgency (high*) as high', () => {
    const verdict = decideVerdict(input([vulnerability({ urgency: 'high*', severityInferred: true })]));

    assert.equal(verdict.passed, false);
  });

  it('does not fail baseline on a strict-only rule, should one be reported to it', () => {
    assert.equal(
      decideVerdict(input([hardening('HERD-H005', 'error')], { profile: 'baseline' })).passed,
      true,
    );
    assert.equal(
      decideVerdict(input([hardening('HERD-H005', 'error')], { profile: 'strict' })).passed,
      false,
    );
  });

  it('lists failing findings first, then by level', () => {
    const verdict = decideVerdict(
      input([hardening('HERD-H007', 'warning'), secret, hardening('HERD-H012', 'info')]),
    );

    assert.deepEqual(
      verdict.findings.map((f) => [f.rule, f.fails]),
      [
        ['HERD-S001', true],
        ['HERD-H007', false],
        ['HERD-H012', false],
      ],
    );
    assert.deepEqual(verdict.summary.byLevel, { error: 1, warning: 1, info: 1 });
  });
});

describe('waivers', () => {
  it('move the findings they cover out of the findings, so the image passes', () => {
    const verdict = decideVerdict(
      input([hardening('HERD-H002', 'error', '/usr/bin/ping'), vulnerability({})], {
        waivers: [waiver({ rule: 'HERD-H002' }), waiver({ cve: 'CVE-2025-0001' })],
      }),
    );

    assert.equal(verdict.passed, true);
    assert.deepEqual(
      verdict.waived.map((w) => [w.finding.rule, w.finding.fails, w.waiver.owner]),
      [
        ['HERD-H002', true, 'security@example.com'],
        ['CVE-2025-0001', true, 'security@example.com'],
      ],
    );
  });

  it('cover only the path they name', () => {
    const verdict = decideVerdict(
      input(
        [hardening('HERD-H002', 'error', '/usr/bin/ping'), hardening('HERD-H002', 'error', '/usr/bin/su')],
        {
          waivers: [waiver({ rule: 'HERD-H002', path: '/usr/bin/ping' })],
        },
      ),
    );

    assert.equal(verdict.passed, false);
    assert.deepEqual(
      verdict.findings.map((f) => (f.kind === 'hardening' ? f.location?.path : '')),
      ['/usr/bin/su'],
    );
  });

  it('cover a vulnerability by one of its aliases', () => {
    const verdict = decideVerdict(
      input([vulnerability({ cve: 'DSA-5999-1', aliases: ['CVE-2025-0009'] })], {
        waivers: [waiver({ cve: 'CVE-2025-0009' })],
      }),
    );

    assert.equal(verdict.passed, true);
  });

  it('apply through the whole of their expiry day in UTC, and not a moment after', () => {
    const findings = [secret];
    const waivers = [waiver({ rule: 'HERD-S001', expires: '2025-03-31' })];

    const lastMoment = decideVerdict(input(findings, { waivers, now: new Date('2025-03-31T23:59:59.999Z') }));
    const nextDay = decideVerdict(input(findings, { waivers, now: new Date('2025-04-01T00:00:00Z') }));

    assert.equal(lastMoment.passed, true);
    assert.equal(nextDay.passed, false);
  });

  it('once expired, no longer apply, and the verdict says so next to the finding and in expiredWaivers', () => {
    const expired = waiver({ rule: 'HERD-S001', expires: '2025-02-28' });

    const verdict = decideVerdict(input([secret], { waivers: [expired] }));

    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.findings[0]?.expiredWaiver, expired);
    assert.deepEqual(verdict.expiredWaivers, [{ waiver: expired, expiredOn: '2025-03-01', covers: 1 }]);
    assert.equal(verdict.summary.expiredWaivers, 1);
  });

  it('report an expired waiver even when nothing it covered is found any more', () => {
    const verdict = decideVerdict(
      input([], { waivers: [waiver({ cve: 'CVE-2020-0001', expires: '2024-12-31' })] }),
    );

    assert.deepEqual(
      verdict.expiredWaivers.map((e) => e.covers),
      [0],
    );
  });
});

describe('the vulnerability data', () => {
  it('warns, without failing, when vulnerabilities were not checked', () => {
    const verdict = decideVerdict(input([], { vulndb: { kind: 'unchecked' }, profile: 'strict' }));

    assert.equal(verdict.passed, true);
    assert.deepEqual(verdict.vulndb, { age: null, stale: false, maxAgeDays: 7 });
    assert.deepEqual(
      verdict.findings.map((f) => [f.rule, f.level]),
      [['HERD-V002', 'warning']],
    );
  });

  it('counts the vulnerability-data notice an expired waiver would have covered', () => {
    const lapsed = waiver({ rule: 'HERD-V002', expires: '2025-02-28' });

    const verdict = decideVerdict(input([], { vulndb: { kind: 'unchecked' }, waivers: [lapsed] }));

    assert.deepEqual(verdict.findings[0]?.expiredWaiver, lapsed);
    assert.deepEqual(verdict.expiredWaivers, [{ waiver: lapsed, expiredOn: '2025-03-01', covers: 1 }]);
  });

  it('reports its age and warns, without failing, once it is older than maxAgeDays', () => {
    const old = { days: 9.5, since: '2025-02-21T00:00:00Z', basis: 'data-date' as const };

    const verdict = decideVerdict(
      input([], { vulndb: { kind: 'checked', age: old, maxAgeDays: 7 }, profile: 'strict' }),
    );

    assert.equal(verdict.passed, true);
    assert.equal(verdict.vulndb.stale, true);
    assert.equal(verdict.vulndb.age, 9.5);
    assert.deepEqual(
      verdict.findings.map((f) => f.rule),
      ['HERD-V001'],
    );
  });
});
