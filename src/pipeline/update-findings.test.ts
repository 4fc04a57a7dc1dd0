import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffLocks, type Lock } from '../builder/lock-file.js';
import type { VulnRecord } from '../gate/vulns/types.js';
import { vulnIndexFromRecords } from '../gate/vulns/vulndb-file.js';
import type { Digest } from '../oci/index.js';
import {
  highestUrgency,
  imageAgeFinding,
  matchLockPackages,
  packageUpdateFinding,
  policyFinding,
  urgencyOf,
  vulnerabilityFinding,
} from './update-findings.js';

const digest = `sha256:${'d'.repeat(64)}` as Digest;
const now = '2026-03-01T12:00:00.000Z';

type Pinned = { name: string; version: string; source?: string; suite?: string; sha?: string };

function lock(packages: Pinned[], options: { base?: string } = {}): Lock {
  return {
    lockVersion: 1,
    service: 'probe',
    specDigest: `sha256:${'5'.repeat(64)}`,
    date: '2026-02-01T00:00:00.000Z',
    suite: 'bookworm',
    architecture: 'amd64',
    ...(options.base
      ? { base: { ref: 'base@production', digest: options.base, packages: 3, held: [] } }
      : {}),
    suites: [
      { suite: 'bookworm', date: '2026-02-01T00:00:00.000Z', inRelease: 'a'.repeat(64), signer: 'F' },
      {
        suite: 'bookworm-security',
        date: '2026-02-20T08:00:00.000Z',
        inRelease: 'b'.repeat(64),
        signer: 'F',
      },
    ],
    files: [],
    packages: packages.map((p) => ({
      name: p.name,
      version: p.version,
      architecture: 'amd64',
      source: p.source ?? p.name,
      sourceVersion: p.version,
      suite: p.suite ?? 'bookworm',
      filename: `pool/main/${p.name[0]}/${p.name}/${p.name}_${p.version}_amd64.deb`,
      size: 100,
      sha256: (p.sha ?? p.version.replace(/[^0-9a-f]/g, '')).padEnd(64, '0').slice(0, 64),
      reason: 'requested',
    })),
  };
}

function record(id: string, source: string, fixed: string | undefined, urgency: string): VulnRecord {
  return {
    id,
    source,
    suite: 'bookworm',
    state: fixed === undefined ? { kind: 'open' } : { kind: 'fixed', version: fixed },
    urgency,
    description: '',
  };
}

/** Each version was first visible on a day of its own, so the earliest is easy to tell. */
const visibleAt = (pkg: string) => `2026-02-${pkg === 'libb' ? '10' : '15'}T00:00:00.000Z`;

function update(before: Lock, after: Lock, vulns?: VulnRecord[]) {
  return packageUpdateFinding({
    service: 'probe',
    digest,
    changes: diffLocks(before, after),
    before,
    after,
    ...(vulns ? { vulns: vulnIndexFromRecords(vulns) } : {}),
    visibleAt,
    now,
  });
}

describe('packageUpdateFinding', () => {
  it('names the package, the versions, the CVE the new version fixes and its urgency', () => {
    const before = lock([{ name: 'probe-server', version: '1.0' }]);
    const after = lock([{ name: 'probe-server', version: '1.1', suite: 'bookworm-security' }]);

    const finding = update(before, after, [
      record('CVE-2026-0001', 'probe-server', '1.1', 'high'),
      record('CVE-2026-0002', 'probe-server', undefined, 'low'),
    ]);

    assert.deepEqual(finding, {
      service: 'probe',
      digest,
      kind: 'package-update',
      summary: 'probe-server 1.0 → 1.1 (CVE-2026-0001, high)',
      packages: [
        {
          name: 'probe-server',
          from: '1.0',
          to: '1.1',
          suite: 'bookworm-security',
          cvesFixed: ['CVE-2026-0001'],
          urgency: 'high',
          visibleAt: '2026-02-15T00:00:00.000Z',
        },
      ],
      cvesFixed: ['CVE-2026-0001'],
      security: true,
      urgency: 'high',
      visibleAt: '2026-02-15T00:00:00.000Z',
      detectedAt: now,
      actionable: true,
    });
  });

  it('matches through the source package and its version, as the gate does', () => {
    const before = lock([{ name: 'libssl3', version: '3.0.11-1', source: 'openssl' }]);
    const after = lock([{ name: 'libssl3', version: '3.0.13-1', source: 'openssl' }]);

    const finding = update(before, after, [record('CVE-2024-0001', 'openssl', '3.0.13-1', 'medium*')]);

    assert.deepEqual(finding?.cvesFixed, ['CVE-2024-0001']);
    assert.equal(finding?.urgency, 'medium');
  });

  it('does not count a CVE the new version still has as fixed', () => {
    const before = lock([{ name: 'openssl', version: '3.0.11-1' }]);
    const after = lock([{ name: 'openssl', version: '3.0.12-1' }]);

    const finding = update(before, after, [record('CVE-2024-0001', 'openssl', '3.0.13-1', 'high')]);

    assert.deepEqual(finding?.cvesFixed, []);
    assert.equal(finding?.security, false);
    assert.equal(finding?.urgency, undefined);
    assert.equal(finding?.summary, 'openssl 3.0.11-1 → 3.0.12-1');
  });

  it('calls a version from a -security suite a security update even when the data knows no CVE', () => {
    const before = lock([{ name: 'openssl', version: '3.0.11-1' }]);
    const after = lock([{ name: 'openssl', version: '3.0.11-1+deb12u1', suite: 'bookworm-security' }]);

    const finding = update(before, after);

    assert.equal(finding?.security, true);
    assert.deepEqual(finding?.cvesFixed, []);
    assert.equal(finding?.urgency, undefined);
  });

  it('lists several packages with the earliest visibility and the highest urgency', () => {
    const before = lock([
      { name: 'liba', version: '1' },
      { name: 'libb', version: '1' },
      { name: 'libc', version: '1' },
      { name: 'libd', version: '1' },
    ]);
    const after = lock([
      { name: 'liba', version: '2' },
      { name: 'libb', version: '2' },
      { name: 'libc', version: '2' },
      { name: 'libe', version: '1' },
    ]);

    const finding = update(before, after, [
      record('CVE-2026-0003', 'liba', '2', 'low'),
      record('CVE-2026-0004', 'libb', '2', 'critical'),
    ]);

    assert.equal(
      finding?.summary,
      '5 packages: liba 1 → 2 (CVE-2026-0003, low), libb 1 → 2 (CVE-2026-0004, critical), libc 1 → 2, and 2 more',
    );
    assert.deepEqual(
      finding?.packages.map((p) => [p.name, p.from, p.to, p.visibleAt]),
      [
        ['liba', '1', '2', '2026-02-15T00:00:00.000Z'],
        ['libb', '1', '2', '2026-02-10T00:00:00.000Z'],
        ['libc', '1', '2', '2026-02-15T00:00:00.000Z'],
        ['libe', undefined, '1', '2026-02-15T00:00:00.000Z'],
        ['libd', '1', undefined, '2026-02-10T00:00:00.000Z'],
      ],
    );
    assert.equal(finding?.visibleAt, '2026-02-10T00:00:00.000Z');
    assert.deepEqual(finding?.cvesFixed, ['CVE-2026-0003', 'CVE-2026-0004']);
    assert.equal(finding?.urgency, 'critical');
  });

  it('says "3 packages" when every change is a package', () => {
    const before = lock([
      { name: 'a', version: '1' },
      { name: 'b', version: '1' },
      { name: 'c', version: '1' },
    ]);
    const after = lock([
      { name: 'a', version: '2' },
      { name: 'b', version: '2' },
      { name: 'c', version: '2' },
    ]);

    assert.equal(update(before, after)?.summary, '3 packages: a 1 → 2, b 1 → 2, c 1 → 2');
  });

  it('never offers an older version as an update, whatever CVE the older one lacks', () => {
    const before = lock([{ name: 'openssl', version: '3.0.13-1' }]);
    const after = lock([{ name: 'openssl', version: '3.0.11-1' }]);

    const finding = update(before, after, [record('CVE-2024-0009', 'openssl', '3.0.13-1', 'high')]);

    assert.equal(finding, undefined);
  });

  it('leaves out the same version with other bytes, and an update beside a downgrade keeps only the update', () => {
    const before = lock([
      { name: 'a', version: '1', sha: 'aaaa' },
      { name: 'b', version: '2' },
      { name: 'c', version: '1' },
    ]);
    const after = lock([
      { name: 'a', version: '1', sha: 'bbbb' },
      { name: 'b', version: '1' },
      { name: 'c', version: '2' },
    ]);

    const finding = update(before, after);

    assert.deepEqual(
      finding?.packages.map((p) => p.name),
      ['c'],
    );
  });

  it('is no finding when only a package is dropped', () => {
    const before = lock([
      { name: 'a', version: '1' },
      { name: 'b', version: '1' },
    ]);
    const after = lock([{ name: 'a', version: '1' }]);

    assert.equal(update(before, after), undefined);
  });

  it('counts a changed base image as an update with no package detail', () => {
    const from = `sha256:${'1'.repeat(64)}`;
    const to = `sha256:${'2'.repeat(64)}`;
    const before = lock([{ name: 'a', version: '1' }], { base: from });
    const after = lock([{ name: 'a', version: '1' }], { base: to });
    const seen: string[] = [];

    const finding = packageUpdateFinding({
      service: 'probe',
      digest,
      changes: diffLocks(before, after),
      before,
      after,
      visibleAt: (pkg, version) => {
        seen.push(`${pkg} ${version}`);
        return now;
      },
      now,
    });

    assert.equal(finding?.kind, 'package-update');
    assert.deepEqual(finding?.packages, []);
    assert.equal(finding?.summary, `base base@production sha256:111111111111… → sha256:222222222222…`);
    assert.deepEqual(seen, [`image.from ${to}`]);
    assert.equal(finding?.security, false);
  });
});

describe('vulnerabilityFinding', () => {
  const deployed = lock([
    { name: 'openssl', version: '3.0.11-1' },
    { name: 'zlib', version: '1.2' },
  ]);
  const records = [
    record('CVE-2024-0001', 'openssl', '3.0.13-1', 'high'),
    record('CVE-2024-0002', 'zlib', undefined, 'medium'),
    record('CVE-2024-0003', 'zlib', '9.9', 'low'),
    {
      ...record('CVE-2024-0004', 'zlib', undefined, 'low'),
      state: { kind: 'will-not-fix' as const, reason: 'no-dsa' as const },
    },
  ];

  it('reports the CVEs no rebuild fixes, and leaves the ones the fresh lock fixes to the update', () => {
    const fresh = lock([
      { name: 'openssl', version: '3.0.13-1' },
      { name: 'zlib', version: '1.2' },
    ]);

    const finding = vulnerabilityFinding({
      service: 'probe',
      digest,
      deployed,
      fresh,
      vulns: vulnIndexFromRecords(records),
      now,
    });

    assert.equal(finding?.kind, 'vulnerability');
    assert.equal(finding?.actionable, false);
    assert.deepEqual(finding?.cvesOpen, ['CVE-2024-0002', 'CVE-2024-0003']);
    assert.deepEqual(finding?.cvesFixed, []);
    assert.equal(finding?.urgency, 'medium');
    assert.equal(
      finding?.summary,
      '2 open CVEs with no fix a rebuild can take in: zlib 1.2 (CVE-2024-0002, CVE-2024-0003, medium)',
    );
  });

  it('counts a fix the archive does not serve yet as open', () => {
    const finding = vulnerabilityFinding({
      service: 'probe',
      digest,
      deployed,
      fresh: deployed,
      vulns: vulnIndexFromRecords(records),
      now,
    });

    assert.deepEqual(finding?.cvesOpen, ['CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0003']);
    assert.equal(finding?.urgency, 'high');
  });

  it('is no finding when nothing is open', () => {
    const finding = vulnerabilityFinding({
      service: 'probe',
      digest,
      deployed,
      vulns: vulnIndexFromRecords([record('CVE-2024-0005', 'zlib', '1.1', 'high')]),
      now,
    });

    assert.equal(finding, undefined);
  });
});

describe('imageAgeFinding', () => {
  const base = {
    service: 'probe',
    digest,
    createdAt: '2026-02-01T12:00:00.000Z',
    maxAgeSeconds: 27 * 86_400,
  };

  it('rotates an image older than the maximum age, visible from the moment it became due', () => {
    const finding = imageAgeFinding({ ...base, now });

    assert.equal(finding?.kind, 'image-age');
    assert.equal(finding?.actionable, true);
    assert.equal(finding?.visibleAt, '2026-02-28T12:00:00.000Z');
    assert.equal(
      finding?.summary,
      'image built 2026-02-01T12:00:00.000Z is 28d old, older than the 27d allowed',
    );
  });

  it('is no finding at or under the maximum age', () => {
    assert.equal(imageAgeFinding({ ...base, maxAgeSeconds: 28 * 86_400, now }), undefined);
  });
});

describe('policyFinding', () => {
  it('names the rules that fail now, sorted and once each', () => {
    const finding = policyFinding({
      service: 'probe',
      digest,
      failingRules: ['no-shell', 'no-setuid', 'no-shell'],
      now,
    });

    assert.equal(finding?.kind, 'policy');
    assert.deepEqual(finding?.rules, ['no-setuid', 'no-shell']);
    assert.equal(finding?.actionable, true);
    assert.equal(finding?.summary, "the gate's policy changed and 2 rules now fail: no-setuid, no-shell");
  });

  it('is no finding when every rule passes', () => {
    assert.equal(policyFinding({ service: 'probe', digest, failingRules: [], now }), undefined);
  });
});

describe('urgencies', () => {
  it('reads the tracker urgency with or without the inferred star, and no other words', () => {
    assert.deepEqual(
      ['high', 'medium*', ' LOW** ', 'not yet assigned', 'end-of-life', 'unimportant'].map(urgencyOf),
      ['high', 'medium', 'low', undefined, undefined, 'unimportant'],
    );
    assert.equal(highestUrgency(['low', undefined, 'high*', 'not yet assigned']), 'high');
    assert.equal(highestUrgency([]), undefined);
  });
});

describe('matchLockPackages', () => {
  it('matches each package within the codename of the Release it came from', () => {
    const before = lock([{ name: 'openssl', version: '3.0.11-1', suite: 'stable-security' }]);
    const withCodenames: Lock = {
      ...before,
      suite: 'stable',
      suites: before.suites.map((suite) => ({
        ...suite,
        suite: suite.suite.replace('bookworm', 'stable'),
        codename: 'bookworm',
      })),
    };

    const matches = matchLockPackages(
      withCodenames.packages,
      withCodenames,
      vulnIndexFromRecords([record('CVE-2024-0001', 'openssl', '3.0.13-1', 'high')]),
    );

    assert.deepEqual(
      matches.map((match) => [match.cve, match.suite]),
      [['CVE-2024-0001', 'bookworm']],
    );
  });
});
