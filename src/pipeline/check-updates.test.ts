import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Database } from 'better-sqlite3';
import { createAptRepo, type FixturePackage, type FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { readLock } from '../builder/lock-file.js';
import type { VulnRecord } from '../gate/vulns/types.js';
import { vulnIndexFromRecords } from '../gate/vulns/vulndb-file.js';
import type { Digest } from '../oci/index.js';
import { openStateDb } from '../state/open-state-db.js';
import {
  checkForUpdates,
  type DeployedImage,
  loadVulnDataIfAny,
  type UpdateCheckParts,
} from './check-updates.js';
import { lockSpec, type SpecInputs } from './lock.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';

const deployed: DeployedImage = {
  service: 'tiny',
  digest: `sha256:${'d'.repeat(64)}` as Digest,
  createdAt: '2024-06-01T00:10:00.000Z',
};
const now = new Date('2024-06-05T00:00:00Z');

const baseFiles: FixturePackage = {
  name: 'base-files',
  version: '12.4',
  files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
};

function tinyBin(version: string, content = 'tiny\n'): FixturePackage {
  return { name: 'tiny-bin', version, files: [{ path: 'usr/bin/tiny', content, mode: 0o755 }] };
}

/**
 * The archive publishes again, signed with the same key, into the directory the first server
 * serves: what a mirror does between two checks. The second server is not needed.
 */
async function republish(repo: FixtureRepo, packages: FixturePackage[], date: string): Promise<void> {
  const again = await createAptRepo({
    dir: repo.dir,
    suites: [{ name: 'test', date: new Date(date) }],
    packages: [baseFiles, ...packages],
  });
  await again.close();
}

function cve(id: string, fixed: string, urgency: string): VulnRecord {
  return {
    id,
    source: 'tiny-bin',
    suite: 'test',
    state: { kind: 'fixed', version: fixed },
    urgency,
    description: '',
  };
}

describe('checkForUpdates', () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;
  let spec: SpecInputs;
  let db: Database;
  let parts: UpdateCheckParts;

  beforeEach(async () => {
    repo = await tinyArchive();
    home = await supplyChainHome();
    spec = await tinySpec(repo);
    // A second connection to the home's herd.db, as the control plane has its own.
    db = openStateDb(home.home.stateDb);
    parts = { ...home.parts, db, now };
  });

  afterEach(async () => {
    db.close();
    await home.close();
    await repo.close();
  });

  it('finds the newer version the signed archive serves, with the CVE it fixes and when it became visible', async () => {
    await lockSpec(spec, home.parts);
    await republish(repo, [tinyBin('1.1', 'tiny 1.1\n')], '2024-06-02T06:00:00Z');

    const check = await checkForUpdates(
      spec,
      { ...parts, vulnDb: vulnIndexFromRecords([cve('CVE-2026-0001', '1.1', 'high')]) },
      { deployed },
    );

    assert.equal(check.lock, 'outdated');
    assert.deepEqual(
      check.findings.map((f) => [f.kind, f.summary, f.visibleAt, f.security, f.urgency, f.actionable]),
      [
        [
          'package-update',
          'tiny-bin 1.0 → 1.1 (CVE-2026-0001, high)',
          '2024-06-02T06:00:00.000Z',
          true,
          'high',
          true,
        ],
      ],
    );
    assert.deepEqual(
      check.fresh?.packages.map((p) => `${p.name}=${p.version}`),
      ['base-files=12.4', 'tiny-bin=1.1'],
    );
    assert.equal(
      (await readLock(spec.lockPath))?.packages[1]?.version,
      '1.0',
      'the check never writes herd.lock',
    );
    assert.equal(check.rolledBack, undefined);
  });

  it('keeps the moment a version was first visible when later Releases carry it', async () => {
    await lockSpec(spec, home.parts);
    await republish(repo, [tinyBin('1.1', 'tiny 1.1\n')], '2024-06-02T06:00:00Z');
    await checkForUpdates(spec, parts, { deployed });
    await republish(repo, [tinyBin('1.1', 'tiny 1.1\n')], '2024-06-03T06:00:00Z');

    const later = await checkForUpdates(
      spec,
      { ...parts, now: new Date('2024-06-06T00:00:00Z') },
      { deployed },
    );

    assert.equal(later.findings[0]?.visibleAt, '2024-06-02T06:00:00.000Z');
    assert.equal(later.fresh?.suites[0]?.date, '2024-06-03T06:00:00.000Z');
  });

  it('reports an archive gone back in time as a rollback, never as an update', async () => {
    await lockSpec(spec, home.parts);
    // An older Release, validly signed: a mirror replaying or freezing the archive.
    await republish(repo, [tinyBin('1.1', 'tiny 1.1\n')], '2024-05-01T00:00:00Z');

    const check = await checkForUpdates(spec, parts, { deployed, maxImageAgeSeconds: 60 });

    assert.equal(check.lock, 'rolled-back');
    assert.deepEqual(check.findings, []);
    assert.deepEqual(
      check.rolledBack?.map((d) => [d.suite, d.got?.toISOString()]),
      [['test', '2024-05-01T00:00:00.000Z']],
    );
    assert.deepEqual(db.prepare('SELECT * FROM pipeline_visible').all(), []);
  });

  it('gives no update when a newer Release serves an older version, and reports the downgrade', async () => {
    await lockSpec(spec, home.parts);
    // The attacker's Release is newer, so no rollback shows; the version it pins is older.
    await republish(repo, [tinyBin('0.9', 'old tiny\n')], '2024-06-02T06:00:00Z');

    const check = await checkForUpdates(
      spec,
      { ...parts, vulnDb: vulnIndexFromRecords([cve('CVE-2026-0002', '1.0', 'high')]) },
      { deployed, maxImageAgeSeconds: 60 },
    );

    assert.equal(check.lock, 'outdated');
    assert.deepEqual(
      check.findings.filter((f) => f.actionable),
      [],
    );
    assert.deepEqual(check.downgraded, [
      { kind: 'downgraded', name: 'tiny-bin', from: '1.0', to: '0.9', suite: 'test' },
    ]);
    assert.deepEqual(db.prepare('SELECT * FROM pipeline_visible').all(), []);
  });

  it('gives no update for the same version with other bytes', async () => {
    await lockSpec(spec, home.parts);
    await republish(repo, [tinyBin('1.0', 'swapped tiny\n')], '2024-06-02T06:00:00Z');

    const check = await checkForUpdates(spec, parts, { deployed });

    assert.deepEqual(check.findings, []);
    assert.deepEqual(
      check.downgraded?.map((change) => change.kind),
      ['changed'],
    );
  });

  it('rotates an image past its maximum age when nothing changed, and reports CVEs with no fix as such', async () => {
    await lockSpec(spec, home.parts);
    const open: VulnRecord = { ...cve('CVE-2026-0003', '1.0', 'low'), state: { kind: 'open' } };

    const check = await checkForUpdates(
      spec,
      { ...parts, vulnDb: vulnIndexFromRecords([open]) },
      { deployed, maxImageAgeSeconds: 86_400 },
    );

    assert.equal(check.lock, 'current');
    assert.deepEqual(
      check.findings.map((f) => [f.kind, f.actionable, f.visibleAt]),
      [
        ['vulnerability', false, now.toISOString()],
        ['image-age', true, '2024-06-02T00:10:00.000Z'],
      ],
    );
    assert.deepEqual(check.findings[0]?.cvesOpen, ['CVE-2026-0003']);
  });

  it('finds nothing in a current lock of a young image, and only the age without a lock', async () => {
    const missing = await checkForUpdates(spec, parts, { deployed, maxImageAgeSeconds: 60 });
    await lockSpec(spec, home.parts);

    const current = await checkForUpdates(spec, parts, { deployed, maxImageAgeSeconds: 30 * 86_400 });

    assert.equal(missing.lock, 'missing');
    assert.deepEqual(
      missing.findings.map((f) => f.kind),
      ['image-age'],
    );
    assert.deepEqual(current, { lock: 'current', findings: [], fresh: await readLock(spec.lockPath) });
  });

  it('reads no vulnerability data as none, not as an error', async () => {
    assert.equal(await loadVulnDataIfAny(home.home), undefined);
  });
});
