import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyTrackerRelease, type TrackerRelease, trackerSourceToRecords } from './tracker-format.js';

describe('classifyTrackerRelease', () => {
  const cases: [string, TrackerRelease, ReturnType<typeof classifyTrackerRelease>][] = [
    [
      'resolved with a version is fixed in that version',
      { status: 'resolved', fixed_version: '1.2-3+deb12u1', urgency: 'high' },
      { kind: 'record', state: { kind: 'fixed', version: '1.2-3+deb12u1' } },
    ],
    [
      'resolved with version 0 is not affected',
      { status: 'resolved', fixed_version: '0', urgency: 'unimportant' },
      { kind: 'skip', why: 'not-affected' },
    ],
    [
      'resolved without a version has nothing left to fix',
      { status: 'resolved', urgency: 'low' },
      { kind: 'skip', why: 'not-affected' },
    ],
    ['open is unfixed', { status: 'open', urgency: 'medium' }, { kind: 'record', state: { kind: 'open' } }],
    [
      'open with a no-dsa note and no reason is will-not-fix (no-dsa)',
      { status: 'open', urgency: 'low', nodsa: 'Minor issue', nodsa_reason: '' },
      { kind: 'record', state: { kind: 'will-not-fix', reason: 'no-dsa' } },
    ],
    [
      'open and ignored is will-not-fix (ignored)',
      { status: 'open', urgency: 'low', nodsa: '', nodsa_reason: 'ignored' },
      { kind: 'record', state: { kind: 'will-not-fix', reason: 'ignored' } },
    ],
    [
      'open and postponed is will-not-fix (postponed)',
      { status: 'open', urgency: 'low', nodsa: 'Fix along with a future DSA', nodsa_reason: 'postponed' },
      { kind: 'record', state: { kind: 'will-not-fix', reason: 'postponed' } },
    ],
    [
      'open at end-of-life is will-not-fix (end-of-life)',
      { status: 'open', urgency: 'end-of-life' },
      { kind: 'record', state: { kind: 'will-not-fix', reason: 'end-of-life' } },
    ],
    [
      'open with a fixed version trusts the version, as trivy-db does',
      { status: 'open', fixed_version: '2.0-1', nodsa: 'Minor issue', nodsa_reason: 'postponed' },
      { kind: 'record', state: { kind: 'fixed', version: '2.0-1' } },
    ],
    ['undetermined is not a finding', { status: 'undetermined' }, { kind: 'skip', why: 'undetermined' }],
  ];
  for (const [sentence, entry, expected] of cases) {
    it(`says ${sentence}`, () => {
      assert.deepEqual(classifyTrackerRelease(entry), expected);
    });
  }

  it('calls an unknown status invalid rather than guessing', () => {
    const verdict = classifyTrackerRelease({ status: 'fixed' });

    assert.equal(verdict.kind, 'invalid');
  });
});

describe('trackerSourceToRecords', () => {
  const member = {
    'CVE-2024-0001': {
      description: '  First line  \nsecond line',
      scope: 'local',
      debianbug: 123,
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '1.0-1' }, urgency: 'medium*' },
        trixie: {
          status: 'resolved',
          repositories: { trixie: '1.1-1' },
          fixed_version: '1.1-1',
          urgency: 'medium',
        },
        bullseye: { status: 'undetermined', repositories: { bullseye: '0.9-1' } },
      },
    },
    'TEMP-0000000-ABCDEF': {
      description: null,
      releases: { bookworm: { status: 'open', repositories: { bookworm: '1.0-1' } } },
    },
  };

  it('keeps one record per suite that can be a finding, with urgency and first description line', () => {
    const result = trackerSourceToRecords('demo', member, { location: 'data.json', offset: 0 });

    assert.deepEqual(result.records, [
      {
        id: 'CVE-2024-0001',
        source: 'demo',
        suite: 'bookworm',
        state: { kind: 'open' },
        urgency: 'medium*',
        description: 'First line',
      },
      {
        id: 'CVE-2024-0001',
        source: 'demo',
        suite: 'trixie',
        state: { kind: 'fixed', version: '1.1-1' },
        urgency: 'medium',
        description: 'First line',
      },
      {
        id: 'TEMP-0000000-ABCDEF',
        source: 'demo',
        suite: 'bookworm',
        state: { kind: 'open' },
        urgency: 'not yet assigned',
        description: '',
      },
    ]);
    assert.deepEqual(result.skipped, { 'not-affected': 0, undetermined: 1, 'other-suite': 0 });
    assert.deepEqual([...result.codenames].sort(), ['bookworm', 'bullseye', 'trixie']);
  });

  it('keeps only the suites asked for and counts the rest', () => {
    const result = trackerSourceToRecords('demo', member, {
      location: 'data.json',
      offset: 0,
      suites: new Set(['trixie']),
    });

    assert.deepEqual(
      result.records.map((record) => record.suite),
      ['trixie'],
    );
    assert.equal(result.skipped['other-suite'], 3);
  });

  it('names the source, the byte offset and the key path of a field with the wrong shape', () => {
    assert.throws(
      () =>
        trackerSourceToRecords(
          'demo',
          { 'CVE-1': { releases: { bookworm: { status: 7 } } } },
          {
            location: 'data.json',
            offset: 4096,
          },
        ),
      {
        code: 'VULNDB_MALFORMED',
        message: /^data\.json: source package "demo" \(byte 4096\), at CVE-1\.releases\.bookworm\.status: /,
      },
    );
  });

  it('hints at OSV when a single OSV record is given as tracker data', () => {
    assert.throws(() => trackerSourceToRecords('id', 'DSA-1', { location: 'x.json', offset: 1 }), {
      code: 'VULNDB_MALFORMED',
      message: /an OSV record\? pass its directory/,
    });
  });
});
