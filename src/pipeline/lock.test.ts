import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { FixtureRepo } from '../../test/fixtures/apt-repo.js';
import { readLock } from '../builder/lock-file.js';
import { loadSpec } from '../specfile/load.js';
import { backwardChanges, checkSpecLock, lockSpec, type SpecInputs } from './lock.js';
import { type SupplyChainHome, supplyChainHome, tinyArchive, tinySpec } from './supply-chain.test-support.js';

describe('lockSpec and checkSpecLock', () => {
  let repo: FixtureRepo;
  let home: SupplyChainHome;
  let spec: SpecInputs;

  before(async () => {
    repo = await tinyArchive();
  });

  after(async () => {
    await repo?.close();
  });

  beforeEach(async () => {
    home = await supplyChainHome();
    spec = await tinySpec(repo);
  });

  afterEach(async () => {
    await home.close();
  });

  it('writes herd.lock pinning each package, remembers the Release date in HERD_HOME, journals nothing', async () => {
    const lock = await lockSpec(spec, home.parts);

    assert.deepEqual(
      lock.packages.map((p) => `${p.name}=${p.version}`),
      ['base-files=12.4', 'tiny-bin=1.0'],
    );
    assert.deepEqual(await readLock(spec.lockPath), lock);
    const remembered = JSON.parse(await readFile(home.home.archiveDates, 'utf8'));
    assert.deepEqual(
      remembered.releases.map((r: { suite: string; date: string }) => [r.suite, r.date]),
      [['test', '2024-06-01T00:00:00.000Z']],
    );
    assert.deepEqual(home.state.journal.list(), []);
  });

  it('says a lock is missing before resolving anything', async () => {
    const check = await checkSpecLock(spec, home.parts);

    assert.deepEqual(check, { kind: 'missing' });
  });

  it('says a fresh lock is current, and outdated once the spec changed', async () => {
    await lockSpec(spec, home.parts);
    const current = await checkSpecLock(spec, home.parts);
    const specPath = join(spec.loaded.dir, 'herd.yaml');
    await writeFile(specPath, (await readFile(specPath, 'utf8')).replace('service: tiny', 'service: tinier'));
    const changed = { ...spec, loaded: await loadSpec(spec.loaded.dir) };

    const outdated = await checkSpecLock(changed, home.parts);

    assert.equal(current.kind, 'current');
    assert.equal(outdated.kind, 'outdated');
    assert.ok(outdated.kind === 'outdated' && outdated.specChanged && outdated.changes.length === 0);
  });

  it('replaces a lock that does not read, and says so as it does', async () => {
    await writeFile(spec.lockPath, '{ not a lock');
    const told: string[] = [];

    const lock = await lockSpec(spec, home.parts, {
      notices: { replacingUnreadable: (path, error) => told.push(`${path}: ${error.code}`) },
    });

    assert.deepEqual(told, [`${spec.lockPath}: LOCK_INVALID`]);
    assert.deepEqual(await readLock(spec.lockPath), lock);
  });
});

describe('backwardChanges', () => {
  it('keeps an older version and other bytes under the same version, never an update', () => {
    const older = { kind: 'downgraded', name: 'a', from: '2', to: '1', suite: 'bookworm' } as const;
    const sameVersion = { kind: 'changed', name: 'b', from: '1', to: '1', suite: 'bookworm' } as const;
    const newer = { kind: 'changed', name: 'c', from: '1', to: '2', suite: 'bookworm-security' } as const;
    const added = { kind: 'added', name: 'd', version: '1' } as const;

    assert.deepEqual(backwardChanges([older, sameVersion, newer, added]), [older, sameVersion]);
  });
});
