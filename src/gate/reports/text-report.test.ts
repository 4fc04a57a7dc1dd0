import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretScanStats } from '../secrets/scan-secrets.js';
import { decideVerdict } from '../verdict.js';
import { formatJsonReport } from './json-report.js';
import { formatTextReport } from './text-report.js';

const scan: SecretScanStats = {
  files: 10,
  scanned: 7,
  skippedTooLarge: 1,
  skippedBinary: 2,
  skippedKnownSafe: 0,
};

const verdict = decideVerdict({
  image: 'sha256:abc',
  profile: 'baseline',
  now: new Date('2025-03-02T00:00:00Z'),
  findings: [
    {
      kind: 'hardening',
      rule: 'HERD-H007',
      level: 'warning',
      message: 'no health check',
      location: { setting: 'spec.health' },
    },
    {
      kind: 'hardening',
      rule: 'HERD-H004',
      level: 'error',
      message: 'package openssh-server 1:9.2p1-2 is an SSH server',
      location: { path: '/var/lib/dpkg/status.d/openssh-server', package: 'openssh-server' },
    },
  ],
  waivers: [{ kind: 'rule', rule: 'HERD-H004', reason: 'migration', owner: 'ops', expires: '2025-01-31' }],
  vulndb: {
    kind: 'checked',
    age: { days: 2.25, since: '2025-02-28T00:00:00Z', basis: 'data-date' },
    maxAgeDays: 7,
  },
  maxAgeDays: 7,
  secretScan: scan,
});

describe('the text report', () => {
  it('shows the result, the vulndb age, the scan counts, a table and the expired waivers', () => {
    assert.equal(
      formatTextReport(verdict),
      [
        'gate sha256:abc (profile baseline) FAILED: 1 failing finding [1 error, 1 warning, 0 info, 0 waived] at 2025-03-02T00:00:00.000Z',
        'vulnerabilities: data 2.3 days old (since 2025-02-28T00:00:00Z), fresh',
        'secret scan: 7 of 10 files read; not read: 1 too large, 2 binary, 0 package files in known-safe paths',
        '',
        'RESULT  LEVEL    RULE       WHERE                   FINDING',
        'FAIL    error    HERD-H004  package openssh-server  package openssh-server 1:9.2p1-2 is an SSH server (waiver expired 2025-01-31)',
        'ok      warning  HERD-H007  spec.health             no health check',
        '',
        'expired waivers, no longer applied (1):',
        '  HERD-H004  expired 2025-01-31 (owner ops), would cover 1 finding(s): migration',
        '',
      ].join('\n'),
    );
  });
});

describe('the JSON report', () => {
  it('is the verdict, with the fields the issue names', () => {
    const parsed = JSON.parse(formatJsonReport(verdict));

    assert.deepEqual(Object.keys(parsed), [
      'image',
      'profile',
      'passed',
      'evaluatedAt',
      'vulndb',
      'findings',
      'waived',
      'expiredWaivers',
      'summary',
    ]);
    assert.deepEqual(parsed.vulndb, {
      age: 2.25,
      since: '2025-02-28T00:00:00Z',
      stale: false,
      maxAgeDays: 7,
    });
  });
});
