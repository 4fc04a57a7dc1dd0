import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchVulnerabilities } from './match.js';
import { trackerSourceToRecords } from './tracker-format.js';
import type { InstalledPackage, VulnFinding } from './types.js';
import { type VulnIndex, vulnIndexFromRecords } from './vulndb-file.js';

/** Tracker-format members, one per source package, as `data/json` has them. */
const tracker: Record<string, unknown> = {
  openssl: {
    'CVE-2024-0001': {
      description: 'Backported fix in a stable update\nSecond line is dropped',
      scope: 'remote',
      debianbug: 1060000,
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '3.0.11-1~deb12u2', 'bookworm-security': '3.0.13-1~deb12u1' },
          fixed_version: '3.0.13-1~deb12u1',
          urgency: 'high',
        },
        sid: {
          status: 'resolved',
          repositories: { sid: '3.1.5-1' },
          fixed_version: '3.0.13-1',
          urgency: 'high',
        },
      },
    },
    'CVE-2024-0002': {
      description: 'Never affected bookworm',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '3.0.11-1~deb12u2' },
          fixed_version: '0',
          urgency: 'unimportant',
        },
      },
    },
    'CVE-2024-0003': {
      description: 'Fixed long before bookworm',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '3.0.11-1~deb12u2' },
          fixed_version: '1.1.1a-1',
          urgency: 'medium',
        },
      },
    },
    'CVE-2024-0004': {
      description: 'Nobody has looked yet',
      releases: {
        bookworm: {
          status: 'undetermined',
          repositories: { bookworm: '3.0.11-1~deb12u2' },
          urgency: 'not yet assigned',
        },
      },
    },
  },
  zlib: {
    'CVE-2024-0010': {
      description: 'Open, no fix anywhere',
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '1:1.2.13.dfsg-1' }, urgency: 'low*' },
      },
    },
    'CVE-2024-0011': {
      description: 'Minor issue, no DSA',
      releases: {
        bookworm: {
          status: 'open',
          repositories: { bookworm: '1:1.2.13.dfsg-1' },
          urgency: 'low',
          nodsa: 'Minor issue',
          nodsa_reason: '',
        },
      },
    },
    'CVE-2024-0012': {
      description: 'Ignored for bookworm',
      releases: {
        bookworm: {
          status: 'open',
          repositories: { bookworm: '1:1.2.13.dfsg-1' },
          urgency: 'unimportant',
          nodsa: 'contrib/minizip not built',
          nodsa_reason: 'ignored',
        },
      },
    },
    'CVE-2024-0013': {
      description: 'Postponed to a point release',
      releases: {
        bookworm: {
          status: 'open',
          repositories: { bookworm: '1:1.2.13.dfsg-1' },
          urgency: 'medium**',
          nodsa: 'Can be fixed in a point release',
          nodsa_reason: 'postponed',
        },
      },
    },
  },
  glibc: {
    'CVE-2024-0020': {
      description: 'Fixed in a point release, with a no-dsa note left behind',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '2.36-9+deb12u4' },
          fixed_version: '2.36-9+deb12u4',
          urgency: 'medium',
          nodsa: 'Minor issue',
          nodsa_reason: 'postponed',
        },
      },
    },
    'CVE-2024-0021': {
      description: 'Only sid is affected',
      releases: {
        sid: { status: 'open', repositories: { sid: '2.40-2' }, urgency: 'high' },
      },
    },
  },
  'old-lib': {
    'CVE-2024-0030': {
      description: 'Security support ended',
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '1.0-1' }, urgency: 'end-of-life' },
      },
    },
  },
  curl: {
    'CVE-2024-0040': {
      description: 'Fixed in bookworm-security, bookworm itself still has the old version',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '7.88.1-10+deb12u5', 'bookworm-security': '7.88.1-10+deb12u6' },
          fixed_version: '7.88.1-10+deb12u6',
          urgency: 'medium',
        },
      },
    },
  },
};

function indexOf(members: Record<string, unknown>): VulnIndex {
  return vulnIndexFromRecords(
    Object.entries(members).flatMap(
      ([source, value]) =>
        trackerSourceToRecords(source, value, { location: 'sample.json', offset: 0 }).records,
    ),
  );
}

/** A binary whose version is its source's version, as in most images. */
function pkg(name: string, built: { source: string; version: string }): InstalledPackage {
  return { name, version: built.version, source: built.source, sourceVersion: built.version };
}

function byCve(findings: VulnFinding[]): Map<string, VulnFinding> {
  return new Map(findings.map((finding) => [finding.cve, finding]));
}

const image: InstalledPackage[] = [
  pkg('libssl3', { source: 'openssl', version: '3.0.11-1~deb12u2' }),
  pkg('openssl', { source: 'openssl', version: '3.0.11-1~deb12u2' }),
  pkg('zlib1g', { source: 'zlib', version: '1:1.2.13.dfsg-1' }),
  pkg('libc6', { source: 'glibc', version: '2.36-9+deb12u4' }),
  pkg('libc-bin', { source: 'glibc', version: '2.36-9+deb12u4' }),
  pkg('old-lib1', { source: 'old-lib', version: '1.0-1' }),
  pkg('libcurl4', { source: 'curl', version: '7.88.1-10+deb12u5' }),
];

describe('matchVulnerabilities on tracker data', () => {
  const db = indexOf(tracker);

  it('reports a backported fix newer than the installed version as fixed-available', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0001');

    assert.equal(finding?.status, 'fixed-available');
    assert.equal(finding?.fixedVersion, '3.0.13-1~deb12u1');
    assert.equal(finding?.installedVersion, '3.0.11-1~deb12u2');
  });

  it('groups the binaries of one source into one finding', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0001');

    assert.deepEqual(finding?.packages, ['libssl3', 'openssl']);
    assert.equal(finding?.source, 'openssl');
  });

  it('reports nothing once the installed version carries the backported fix', () => {
    const patched = [pkg('libssl3', { source: 'openssl', version: '3.0.13-1~deb12u1' })];

    const findings = matchVulnerabilities(patched, db, { suite: 'bookworm' });

    assert.deepEqual(findings, []);
  });

  it('compares the +debNuM backport with the plain revision in dpkg order', () => {
    const records = indexOf({
      demo: {
        'CVE-2024-0050': {
          releases: { bookworm: { status: 'resolved', fixed_version: '1.2-3+deb12u1', urgency: 'high' } },
        },
      },
    });

    const before = matchVulnerabilities([pkg('demo', { source: 'demo', version: '1.2-3' })], records, {
      suite: 'bookworm',
    });
    const after = matchVulnerabilities([pkg('demo', { source: 'demo', version: '1.2-3+deb12u1' })], records, {
      suite: 'bookworm',
    });
    const later = matchVulnerabilities([pkg('demo', { source: 'demo', version: '1.2-3+deb12u2' })], records, {
      suite: 'bookworm',
    });

    assert.equal(before[0]?.status, 'fixed-available');
    assert.deepEqual(after, []);
    assert.deepEqual(later, []);
  });

  it('reports a fix that is in bookworm-security but not yet in bookworm as fixed-available', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0040');

    assert.equal(finding?.status, 'fixed-available');
    assert.equal(finding?.installedVersion, '7.88.1-10+deb12u5');
    assert.equal(finding?.fixedVersion, '7.88.1-10+deb12u6');
  });

  it('reports nothing for an image that took the fix from bookworm-security', () => {
    const fromSecurity = [pkg('libcurl4', { source: 'curl', version: '7.88.1-10+deb12u6' })];

    assert.deepEqual(matchVulnerabilities(fromSecurity, db, { suite: 'bookworm' }), []);
  });

  it('treats fixed_version "0" as not affected', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.equal(findings.has('CVE-2024-0002'), false);
  });

  it('reports nothing when the fixed version is older than the installed one', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.equal(findings.has('CVE-2024-0003'), false);
  });

  it('does not report undetermined entries', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.equal(findings.has('CVE-2024-0004'), false);
  });

  it('reports an open entry without a no-dsa note as unfixed', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0010');

    assert.equal(finding?.status, 'unfixed');
    assert.equal(finding?.fixedVersion, undefined);
  });

  it('reports no-dsa, ignored and postponed entries as will-not-fix, with the reason', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.deepEqual(
      ['CVE-2024-0011', 'CVE-2024-0012', 'CVE-2024-0013'].map((cve) => [
        findings.get(cve)?.status,
        findings.get(cve)?.reason,
      ]),
      [
        ['will-not-fix', 'no-dsa'],
        ['will-not-fix', 'ignored'],
        ['will-not-fix', 'postponed'],
      ],
    );
  });

  it('lets a real fixed version win over a stale no-dsa note', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.equal(findings.has('CVE-2024-0020'), false);
  });

  it('reports an end-of-life package as will-not-fix with unknown severity', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0030');

    assert.equal(finding?.status, 'will-not-fix');
    assert.equal(finding?.reason, 'end-of-life');
    assert.equal(finding?.severity, 'unknown');
  });

  it('takes severity from the urgency, marking a starred urgency as inferred', () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));

    assert.deepEqual(
      ['CVE-2024-0001', 'CVE-2024-0010', 'CVE-2024-0012', 'CVE-2024-0013'].map((cve) => {
        const finding = findings.get(cve);
        return [finding?.severity, finding?.severityInferred, finding?.urgency];
      }),
      [
        ['high', false, 'high'],
        ['low', true, 'low*'],
        ['negligible', false, 'unimportant'],
        ['medium', true, 'medium**'],
      ],
    );
  });

  it("matches only the image's suite, so a sid-only issue stays out of bookworm", () => {
    const findings = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' }));
    const sid = byCve(
      matchVulnerabilities([pkg('libc6', { source: 'glibc', version: '2.40-2' })], db, { suite: 'sid' }),
    );

    assert.equal(findings.has('CVE-2024-0021'), false);
    assert.equal(sid.get('CVE-2024-0021')?.status, 'unfixed');
  });

  it('matches by source package, never by binary name', () => {
    const renamed = [pkg('zlib', { source: 'not-zlib', version: '1:1.2.13.dfsg-1' })];

    assert.deepEqual(matchVulnerabilities(renamed, db, { suite: 'bookworm' }), []);
  });

  it('falls back to the binary name and version when the source is not recorded', () => {
    const bare = [{ name: 'zlib', version: '1:1.2.13.dfsg-1', source: '', sourceVersion: '' }];

    const findings = matchVulnerabilities(bare, db, { suite: 'bookworm' });

    assert.equal(findings.length, 4);
  });

  it('keeps the first line of the description', () => {
    const finding = byCve(matchVulnerabilities(image, db, { suite: 'bookworm' })).get('CVE-2024-0001');

    assert.equal(finding?.description, 'Backported fix in a stable update');
  });

  it('gives the same findings in the same order whatever the package order', () => {
    const forward = matchVulnerabilities(image, db, { suite: 'bookworm' });
    const backward = matchVulnerabilities([...image].reverse(), db, { suite: 'bookworm' });

    assert.deepEqual(backward, forward);
    assert.deepEqual(
      forward.map((finding) => `${finding.source} ${finding.cve}`),
      [
        'curl CVE-2024-0040',
        'old-lib CVE-2024-0030',
        'openssl CVE-2024-0001',
        'zlib CVE-2024-0010',
        'zlib CVE-2024-0011',
        'zlib CVE-2024-0012',
        'zlib CVE-2024-0013',
      ],
    );
  });

  it('matches each source version on its own when an image mixes two', () => {
    const mixed = [
      pkg('libssl3', { source: 'openssl', version: '3.0.13-1~deb12u1' }),
      pkg('openssl', { source: 'openssl', version: '3.0.11-1~deb12u2' }),
    ];

    const findings = matchVulnerabilities(mixed, db, { suite: 'bookworm' });

    assert.deepEqual(
      findings.map((finding) => [finding.packages, finding.status]),
      [[['openssl'], 'fixed-available']],
    );
  });
});

describe('matchVulnerabilities on OSV ranges', () => {
  it('respects an introduced version and a last_affected bound', () => {
    const db = vulnIndexFromRecords([
      {
        id: 'CVE-2024-0060',
        source: 'demo',
        suite: 'bookworm',
        state: { kind: 'fixed', version: '2.0-1' },
        urgency: 'medium',
        description: '',
        introduced: '1.5-1',
      },
      {
        id: 'CVE-2024-0061',
        source: 'demo',
        suite: 'bookworm',
        state: { kind: 'open' },
        urgency: 'low',
        description: '',
        lastAffected: '1.4-1',
      },
    ]);

    const older = matchVulnerabilities([pkg('demo', { source: 'demo', version: '1.4-1' })], db, {
      suite: 'bookworm',
    });
    const middle = matchVulnerabilities([pkg('demo', { source: 'demo', version: '1.6-1' })], db, {
      suite: 'bookworm',
    });

    assert.deepEqual(
      older.map((finding) => [finding.cve, finding.status]),
      [['CVE-2024-0061', 'unfixed']],
    );
    assert.deepEqual(
      middle.map((finding) => [finding.cve, finding.status]),
      [['CVE-2024-0060', 'fixed-available']],
    );
  });
});
