/**
 * The spec's `gate:` section (src/specfile/gate-section.ts). The test sits here, with the gate, until the
 * section is part of the spec schema; the schema's own problems read "expected X, got Y".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GateSection } from '../specfile/gate-section.js';

function problems(input: unknown): string[] {
  const result = GateSection.safeParse(input);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('the gate section of herd.yaml', () => {
  it('fills in the defaults: baseline, no waivers, no setuid files, a 7-day vulndb', () => {
    assert.deepEqual(GateSection.parse({}), {
      profile: 'baseline',
      waivers: [],
      allowSetuid: [],
      vulndb: { maxAgeDays: 7 },
    });
  });

  it('reads a complete section into waivers discriminated by kind', () => {
    const section = GateSection.parse({
      profile: 'strict',
      waivers: [
        {
          rule: 'HERD-H002',
          path: '/usr/bin/ping',
          reason: 'needs raw sockets',
          owner: 'net-team',
          expires: '2025-06-30',
        },
        { cve: 'CVE-2024-12345', reason: 'not reachable', owner: 'alice@example.com', expires: '2025-01-31' },
      ],
      allowSetuid: ['/usr/bin/ping'],
      budget: { packages: 40, sizeMB: 120.5 },
      vulndb: { maxAgeDays: 3 },
    });

    assert.deepEqual(section.waivers, [
      {
        kind: 'rule',
        rule: 'HERD-H002',
        path: '/usr/bin/ping',
        reason: 'needs raw sockets',
        owner: 'net-team',
        expires: '2025-06-30',
      },
      {
        kind: 'cve',
        cve: 'CVE-2024-12345',
        reason: 'not reachable',
        owner: 'alice@example.com',
        expires: '2025-01-31',
      },
    ]);
    assert.deepEqual(section.budget, { packages: 40, sizeMB: 120.5 });
    assert.equal(section.vulndb.maxAgeDays, 3);
  });

  it('rejects a waiver without an expiry date', () => {
    assert.deepEqual(problems({ waivers: [{ rule: 'HERD-H001', reason: 'legacy', owner: 'ops' }] }), [
      'waivers.0.expires: expected an expiry date YYYY-MM-DD such as 2025-12-31; every waiver expires, got nothing',
    ]);
  });

  it('rejects an expiry that is not a calendar day', () => {
    for (const expires of ['2025-02-30', '2025-13-01', '31.12.2025', 'never']) {
      assert.equal(
        problems({ waivers: [{ rule: 'HERD-H001', reason: 'r', owner: 'o', expires }] }).length,
        1,
        expires,
      );
    }
  });

  it('rejects a waiver that names neither or both of rule and cve, or has no owner or reason', () => {
    const terms = { reason: 'r', owner: 'o', expires: '2025-01-01' };

    assert.match(problems({ waivers: [terms] })[0] ?? '', /exactly one of rule or cve, got neither/);
    assert.match(
      problems({ waivers: [{ ...terms, rule: 'HERD-H001', cve: 'CVE-2024-1234' }] })[0] ?? '',
      /got both/,
    );
    assert.match(
      problems({ waivers: [{ rule: 'HERD-H001', expires: '2025-01-01' }] }).join('\n'),
      /reason.*\n.*owner/,
    );
  });

  it('rejects unknown fields, unknown profiles and malformed ids, each with what was expected', () => {
    assert.match(
      problems({ profil: 'strict' })[0] ?? '',
      /unknown field "profil" \(did you mean "profile"\?\)/,
    );
    assert.match(
      problems({ profile: 'paranoid' })[0] ?? '',
      /expected a gate profile: baseline or strict, got "paranoid"/,
    );
    assert.match(
      problems({ waivers: [{ rule: 'H001', reason: 'r', owner: 'o', expires: '2025-01-01' }] })[0] ?? '',
      /expected a gate rule id such as HERD-H002/,
    );
    assert.match(problems({ allowSetuid: ['usr/bin/ping'] })[0] ?? '', /expected an absolute file path/);
    assert.match(problems({ budget: { sizeMB: 0 } })[0] ?? '', /above zero/);
  });
});
