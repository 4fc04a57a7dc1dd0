/**
 * herd's dpkg version order (src/debian/version.ts) against dpkg's own implementation, on at least
 * 100,000 pairs: real versions from the archive's Packages indexes plus generated edge cases.
 * Vulnerability matching is only as right as this order. The oracle is libdpkg itself
 * (test/oracles/dpkg-compare.c, built here), checked in turn against `dpkg --compare-versions`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DebianError } from '../src/debian/errors.js';
import { compareDebianVersions } from '../src/debian/version.js';
import { type ArchiveVersions, readArchiveVersions } from './oracles/archive-versions.js';
import { buildDpkgOracle, dpkgCompareVersions, runDpkgOracle, type Verdict } from './oracles/dpkg-oracle.js';
import { type VersionPair, versionPairs } from './oracles/version-pairs.js';

function herdVerdict(a: string, b: string): Verdict {
  try {
    const order = compareDebianVersions(a, b);
    return order < 0 ? '<' : order > 0 ? '>' : '=';
  } catch (error) {
    if (error instanceof DebianError && error.code === 'VERSION_INVALID') return 'E';
    throw error;
  }
}

describe('the dpkg version order', () => {
  let work: string;
  let oracle: string;
  let archive: ArchiveVersions;
  let pairs: VersionPair[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-version-oracle-'));
    oracle = buildDpkgOracle(work);
    archive = await readArchiveVersions();
    pairs = versionPairs(archive, { seed: 0x5eed });
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('reads real versions from the Debian archive', () => {
    assert.ok(
      archive.versions.length >= 5_000,
      `found ${archive.versions.length} versions in ${archive.origins.join(', ') || 'no Packages index'}: ` +
        'run apt-get update so /var/lib/apt/lists holds Packages indexes, or let this machine reach its apt sources',
    );
  });

  it('agrees with dpkg on at least 100,000 pairs of archive versions and edge cases', () => {
    const dpkg = runDpkgOracle(
      oracle,
      pairs.map((pair) => [pair.a, pair.b]),
    );

    const disagreements = pairs
      .map((pair, index) => ({ ...pair, dpkg: dpkg[index], herd: herdVerdict(pair.a, pair.b) }))
      .filter((row) => row.dpkg !== row.herd);
    const byKind = new Map<string, number>();
    for (const pair of pairs) byKind.set(pair.kind, (byKind.get(pair.kind) ?? 0) + 1);
    const summary = [...byKind].map(([kind, count]) => `${kind} ${count}`).join(', ');
    assert.ok(pairs.length >= 100_000, `only ${pairs.length} pairs (${summary})`);
    assert.ok((byKind.get('archive-edited') ?? 0) > 0 && (byKind.get('generated') ?? 0) > 0, summary);
    assert.ok(
      dpkg.filter((verdict) => verdict === 'E').length > 0,
      'the pairs include versions dpkg refuses, so refusals are checked too',
    );
    assert.deepEqual(
      disagreements.slice(0, 20),
      [],
      `${disagreements.length} of ${pairs.length} pairs disagree (${summary})`,
    );
    console.log(`# ${pairs.length} pairs, 0 disagreements: ${summary}`);
  });

  it('uses an oracle that answers as dpkg --compare-versions does', () => {
    // Every 400th pair, plus every pair dpkg refuses or only warns about (they exercise the parser).
    const sample = pairs.filter(
      (pair, index) => index % 400 === 0 || /[^0-9A-Za-z.+~:-]|^[^0-9]|:$|-$/.test(pair.a),
    );
    const chosen = sample.slice(0, 400).map((pair): [string, string] => [pair.a, pair.b]);

    const fromBinary = dpkgCompareVersions(chosen);
    const fromOracle = runDpkgOracle(oracle, chosen);

    assert.ok(chosen.length >= 300, `only ${chosen.length} pairs in the sample`);
    assert.deepEqual(
      chosen
        .map((pair, index) => [pair, fromOracle[index]])
        .filter((row, index) => row[1] !== fromBinary[index]),
      [],
    );
  });
});
