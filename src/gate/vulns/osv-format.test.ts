import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codenameOfEcosystem, osvToRecords } from './osv-format.js';

describe('osvToRecords', () => {
  it('maps a DEBIAN-CVE record to its CVE, with the range, urgency and description', () => {
    const result = osvToRecords(
      {
        id: 'DEBIAN-CVE-2024-0100',
        upstream: ['CVE-2024-0100'],
        modified: '2025-05-30T10:00:00Z',
        details: 'A flaw in curl\nMore text',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'curl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '7.88.1-10+deb12u6' }] }],
            ecosystem_specific: { urgency: 'low*' },
          },
          {
            package: { ecosystem: 'Debian:13', name: 'curl' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
            ecosystem_specific: { urgency: 'low' },
          },
          { package: { ecosystem: 'PyPI', name: 'curl' }, ranges: [] },
        ],
      },
      { location: 'osv/DEBIAN-CVE-2024-0100.json' },
    );

    assert.deepEqual(result.records, [
      {
        id: 'CVE-2024-0100',
        source: 'curl',
        suite: 'bookworm',
        state: { kind: 'fixed', version: '7.88.1-10+deb12u6' },
        urgency: 'low*',
        description: 'A flaw in curl',
        aliases: ['DEBIAN-CVE-2024-0100'],
      },
      {
        id: 'CVE-2024-0100',
        source: 'curl',
        suite: 'trixie',
        state: { kind: 'open' },
        urgency: 'low',
        description: 'A flaw in curl',
        aliases: ['DEBIAN-CVE-2024-0100'],
      },
    ]);
    assert.equal(result.modified?.toISOString(), '2025-05-30T10:00:00.000Z');
  });

  it('keeps an advisory id with its CVEs as aliases, and its introduced and last_affected bounds', () => {
    const result = osvToRecords(
      {
        id: 'DSA-5000-1',
        aliases: ['CVE-2024-0200', 'CVE-2024-0201'],
        summary: 'openssl security update',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'openssl' },
            ranges: [
              {
                type: 'ECOSYSTEM',
                events: [
                  { introduced: '3.0.0-1' },
                  { fixed: '3.0.13-1~deb12u1' },
                  { introduced: '3.1.0-1' },
                  { last_affected: '3.1.2-1' },
                ],
              },
            ],
          },
        ],
      },
      { location: 'osv.json' },
    );

    assert.deepEqual(
      result.records.map((record) => [
        record.id,
        record.state,
        record.introduced,
        record.lastAffected,
        record.aliases,
        record.urgency,
      ]),
      [
        [
          'DSA-5000-1',
          { kind: 'fixed', version: '3.0.13-1~deb12u1' },
          '3.0.0-1',
          undefined,
          ['CVE-2024-0200', 'CVE-2024-0201'],
          'not yet assigned',
        ],
        [
          'DSA-5000-1',
          { kind: 'open' },
          '3.1.0-1',
          '3.1.2-1',
          ['CVE-2024-0200', 'CVE-2024-0201'],
          'not yet assigned',
        ],
      ],
    );
  });

  it('gives nothing for a withdrawn record', () => {
    const result = osvToRecords(
      {
        id: 'DEBIAN-CVE-2024-0300',
        withdrawn: '2025-01-01T00:00:00Z',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'x' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          },
        ],
      },
      { location: 'osv.json' },
    );

    assert.deepEqual(result.records, []);
  });

  it('refuses a record without an id, naming the input', () => {
    assert.throws(() => osvToRecords({ affected: [] }, { location: 'osv/bad.json' }), {
      code: 'VULNDB_MALFORMED',
      message: /^osv\/bad\.json, at id: /,
    });
  });
});

describe('codenameOfEcosystem', () => {
  it('maps Debian majors to codenames and keeps an unknown one as written', () => {
    assert.deepEqual(
      ['Debian:11', 'Debian:12', 'Debian:13', 'Debian:12.5', 'Debian:99', 'Ubuntu:22.04'].map(
        codenameOfEcosystem,
      ),
      ['bullseye', 'bookworm', 'trixie', 'bookworm', 'Debian:99', undefined],
    );
  });
});
